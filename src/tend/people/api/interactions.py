"""Logged interactions with a contact: list and log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.people.api._contact_page import UserRef, aware, contact_of
from tend.people.choices import Direction, InteractionChannel
from tend.people.selectors.interactions import INTERACTION_ORDERING, interaction_list
from tend.people.services.interactions import interaction_log

router = Router(tags=["Interactions"])


class InteractionOut(Schema):
    id: UUID
    contact_id: UUID
    channel: str
    direction: str
    summary: str
    outcome: str
    flags: list[str]
    follow_up_on: date | None
    occurred_at: datetime
    staff: UserRef | None
    created_at: datetime


class InteractionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: InteractionChannel
    direction: Direction = Direction.OUTBOUND
    summary: str = Field(max_length=5_000)
    outcome: str = Field("", max_length=200)
    flags: list[str] = Field(default_factory=list, max_length=10)
    follow_up_on: date | None = None
    occurred_at: datetime | None = Field(None, description="Default: now. Not in the future.")


@router.get("/contacts/{contact_id}/interactions", response=Page[InteractionOut])
def interactions_list(request: ApiRequest, contact_id: UUID, page: Query[PageParams]) -> Any:
    """The contact's logged interactions, newest first. Needs `activities.view`."""
    require(request, "activities.view")
    contact = contact_of(request, contact_id)
    return paginate(interaction_list(tenant=request.tenant, contact=contact), page,
                    ordering=INTERACTION_ORDERING)


@router.post("/contacts/{contact_id}/interactions", response={201: InteractionOut})
def interactions_create(request: ApiRequest, contact_id: UUID, payload: InteractionIn) -> Any:
    """Log a touch (call, meeting, message): adds INTERACTION_LOGGED to the timeline and moves
    the contact's last-contacted time. Needs `activities.add`."""
    actor = require(request, "activities.add")
    contact = contact_of(request, contact_id)
    interaction = interaction_log(
        tenant=request.tenant, actor=actor, contact=contact, channel=payload.channel,
        direction=payload.direction, summary=payload.summary, outcome=payload.outcome,
        flags=payload.flags, follow_up_on=payload.follow_up_on,
        occurred_at=aware(payload.occurred_at, "occurred_at"),
    )
    return Status(201, interaction)
