"""The attention list and its thresholds."""

from __future__ import annotations

from typing import Any
from uuid import UUID

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
from tend.core.api.base import ApiRequest, PageParams, paginate, require
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


@router.get("/community/attention", response=AttentionPage)
def attention(request: ApiRequest, page: Query[PageParams], filters: Query[AttentionQuery]
              ) -> Any:
    """People needing attention, by name, each with the clauses of the rule that fired.
    Needs `care.view`."""
    actor = require(request, "care.view")
    unit = unit_get(tenant=request.tenant, unit_id=filters.unit_id) if filters.unit_id else None
    mentor = contact_of(request, filters.mentor_id) if filters.mentor_id else None
    attention = Attention(request.tenant)
    result = paginate(attention.people(unit=unit, mentor=mentor, actor=actor), page,
                      ordering=("display_name", "id"))
    rows = attention.reasons(list(result["items"]))
    result["items"] = [{"contact_id": r.contact.pk, "name": str(r.contact),
                        "clauses": r.clauses, "reasons": r.reasons} for r in rows]
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
