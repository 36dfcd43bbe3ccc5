"""The attention list and its thresholds."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from tend.community.selectors.care_attention import (
    Attention,
    attention_rule,
)
from tend.community.selectors.care_units import unit_get
from tend.community.services.care_attention import (
    attention_settings,
    attention_settings_update,
)
from tend.core.api.base import ApiRequest, PageParams, decode_cursor, encode_cursor, require
from tend.core.errors import ValidationFailed
from tend.people.api._contact_page import contact_of

router = Router(tags=["Attention"])


class AttentionItem(Schema):
    contact_id: UUID
    name: str
    clauses: list[str] = Field(description="contact, practice and/or lesson")
    reasons: list[str]


class AttentionPage(Schema):
    items: list[AttentionItem]
    next_cursor: str | None = None
    rule: dict[str, Any]


class AttentionQuery(Schema):
    unit_id: UUID | None = Field(None, description="Only members of this unit's subtree.")
    mentor_id: UUID | None = Field(None, description="Only this mentor's current mentees.")


class SettingsOut(Schema):
    days_since_contact: int
    months_since_lesson: int


class SettingsPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    days_since_contact: int | None = None
    months_since_lesson: int | None = None


def _after_cursor(cursor: str) -> tuple[str, UUID]:
    """The (name, id) a page's `next_cursor` holds; 422 for anything else."""
    name, pk = decode_cursor(cursor, 2)
    try:
        if not isinstance(name, str) or not isinstance(pk, str) or "\x00" in name:
            raise ValueError
        name.encode()  # a lone surrogate cannot be sent to the database (UnicodeEncodeError)
        return name, UUID(pk)
    except ValueError:
        raise ValidationFailed(_("The cursor is not valid."),
                               fields={"cursor": [_("Not a cursor from this list.")]}) from None


@router.get("/community/attention", response=AttentionPage)
def attention(request: ApiRequest, page: Query[PageParams], filters: Query[AttentionQuery]
              ) -> Any:
    """People needing attention, by name, each with the clauses of the rule that fired.
    Needs `care.view`."""
    actor = require(request, "care.view")
    unit = unit_get(tenant=request.tenant, unit_id=filters.unit_id) if filters.unit_id else None
    mentor = contact_of(request, filters.mentor_id) if filters.mentor_id else None
    after = _after_cursor(page.cursor) if page.cursor else None
    rows = Attention(request.tenant).page(unit=unit, mentor=mentor, actor=actor, after=after,
                                          limit=page.limit + 1)
    more, rows = len(rows) > page.limit, rows[:page.limit]
    last = rows[-1].contact if rows else None
    result: dict[str, Any] = {
        "items": [{"contact_id": r.contact.pk, "name": str(r.contact), "clauses": r.clauses,
                   "reasons": r.reasons} for r in rows],
        "next_cursor": encode_cursor([last.display_name, last.pk]) if more and last else None}
    result["rule"] = attention_rule(request.tenant)
    return result


@router.get("/community/attention/settings", response=SettingsOut)
def settings_get(request: ApiRequest) -> Any:
    require(request, "care.view")
    return attention_settings(request.tenant)


@router.patch("/community/attention/settings", response=SettingsOut)
def settings_update(request: ApiRequest, payload: SettingsPatch) -> Any:
    """Change the thresholds. Needs `care.manage`."""
    actor = require(request, "care.manage")
    return attention_settings_update(tenant=request.tenant, actor=actor,
                                     data=payload.model_dump(exclude_none=True))
