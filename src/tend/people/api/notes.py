"""Notes about contacts: list, write, read, change, pin and delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.people.api._contact_page import UserRef, contact_of
from tend.people.choices import NoteType
from tend.people.markdown import render_markdown
from tend.people.models import Note
from tend.people.selectors.notes import NOTE_ORDERING, note_get, note_list
from tend.people.services.notes import note_create, note_delete, note_pin, note_update

router = Router(tags=["Notes"])


class NoteOut(Schema):
    id: UUID
    contact_id: UUID | None
    type: str
    body: str = Field(description="Markdown, as written.")
    body_html: str = Field(description="The body rendered to sanitized HTML.")
    is_pinned: bool
    is_private: bool
    author: UserRef | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_body_html(obj: Note) -> str:
        return str(render_markdown(obj.body))


class NoteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=20_000)
    type: NoteType = NoteType.GENERAL
    is_private: bool = False
    is_pinned: bool = False


class NotePatch(Schema):
    model_config = ConfigDict(extra="forbid")

    body: str | None = Field(None, max_length=20_000)
    type: NoteType | None = None
    is_private: bool | None = None


class PinIn(Schema):
    model_config = ConfigDict(extra="forbid")

    pinned: bool = True


@router.get("/contacts/{contact_id}/notes", response=Page[NoteOut])
def notes_list(request: ApiRequest, contact_id: UUID, page: Query[PageParams]) -> Any:
    """The contact's notes the caller may read, pinned first. Needs `notes.view`."""
    actor = require(request, "notes.view")
    contact = contact_of(request, contact_id)
    return paginate(note_list(tenant=request.tenant, actor=actor, contact=contact), page,
                    ordering=NOTE_ORDERING)


@router.post("/contacts/{contact_id}/notes", response={201: NoteOut})
def notes_create(request: ApiRequest, contact_id: UUID, payload: NoteIn) -> Any:
    """Write a note (Markdown). Needs `notes.add`."""
    actor = require(request, "notes.add")
    contact = contact_of(request, contact_id)
    note = note_create(tenant=request.tenant, actor=actor, contact=contact, body=payload.body,
                       type=payload.type, is_private=payload.is_private,
                       is_pinned=payload.is_pinned)
    return Status(201, note)


@router.get("/notes/{note_id}", response=NoteOut)
def notes_get(request: ApiRequest, note_id: UUID) -> Any:
    """One note (a private one only for its author). Needs `notes.view`."""
    actor = require(request, "notes.view")
    return note_get(tenant=request.tenant, actor=actor, note_id=note_id)


@router.patch("/notes/{note_id}", response=NoteOut)
def notes_update(request: ApiRequest, note_id: UUID, payload: NotePatch) -> Any:
    """Change a note's body, type or privacy. Needs `notes.change`."""
    actor = require(request, "notes.change")
    note = note_get(tenant=request.tenant, actor=actor, note_id=note_id)
    return note_update(tenant=request.tenant, actor=actor, note=note, body=payload.body,
                       type=payload.type, is_private=payload.is_private)


@router.post("/notes/{note_id}/pin", response=NoteOut)
def notes_pin(request: ApiRequest, note_id: UUID, payload: PinIn) -> Any:
    """Pin (`{"pinned": true}`) or unpin a note. Needs `notes.change`."""
    actor = require(request, "notes.change")
    note = note_get(tenant=request.tenant, actor=actor, note_id=note_id)
    return note_pin(tenant=request.tenant, actor=actor, note=note, pinned=payload.pinned)


@router.delete("/notes/{note_id}", response={204: None})
def notes_delete(request: ApiRequest, note_id: UUID) -> Any:
    """Delete a note. Needs `notes.delete`."""
    actor = require(request, "notes.delete")
    note = note_get(tenant=request.tenant, actor=actor, note_id=note_id)
    note_delete(tenant=request.tenant, actor=actor, note=note)
    return Status(204, None)
