"""Merging two contacts: a side-by-side preview and the merge itself."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, require
from tend.people.selectors.contacts import contact_get
from tend.people.services.merge import contact_merge, merge_preview

router = Router(tags=["Merge"])


class PairQuery(Schema):
    winner_id: UUID = Field(description="The contact that stays.")
    loser_id: UUID = Field(description="The contact merged into it.")


class PreviewRow(Schema):
    field: str
    label: str
    winner: str
    loser: str
    default: str = Field(description="winner or loser: the value kept unless chosen otherwise")
    differs: bool


class PreviewOut(Schema):
    winner_id: UUID
    loser_id: UUID
    fields: list[PreviewRow]


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    winner_id: UUID
    loser_id: UUID
    field_choices: dict[str, str] = Field(
        default_factory=dict,
        description='Field (e.g. "city", "custom.member_no") to "winner" or "loser".')


class MergeOut(Schema):
    id: UUID
    display_name: str
    primary_email: str
    primary_phone: str
    status: str


@router.get("/merge/preview", response=PreviewOut)
def merge_preview_get(request: ApiRequest, pair: Query[PairQuery]) -> dict[str, Any]:
    require(request, "contacts.manage")
    winner = contact_get(tenant=request.tenant, contact_id=pair.winner_id)
    loser = contact_get(tenant=request.tenant, contact_id=pair.loser_id)
    return {"winner_id": winner.pk, "loser_id": loser.pk,
            "fields": merge_preview(winner=winner, loser=loser)}


@router.post("/merge", response=MergeOut)
def merge_contacts(request: ApiRequest, payload: MergeIn) -> Any:
    actor = require(request, "contacts.manage")
    winner = contact_get(tenant=request.tenant, contact_id=payload.winner_id)
    loser = contact_get(tenant=request.tenant, contact_id=payload.loser_id)
    return contact_merge(tenant=request.tenant, actor=actor, winner=winner, loser=loser,
                         field_choices=payload.field_choices)
