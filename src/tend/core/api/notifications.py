"""Notifications of the calling member (an API key reads its creator's): list, unread
count, mark read."""

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.selectors.notifications import notification_list, notification_unread_count
from tend.core.services.notifications import notifications_mark_read

router = Router(tags=["Notifications"])


class NotificationOut(Schema):
    id: UUID
    kind: str = Field(description="`conversation.assigned`, `task.due`, …")
    title: str
    body: str
    url: str = Field(description="Where to look, a path inside the organization.")
    read_at: datetime | None
    created_at: datetime


class NotificationFilter(Schema):
    unread: bool | None = Field(None, description="true: only unread; false: only read.")


class UnreadOut(Schema):
    unread: int


class MarkReadIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] | None = Field(None, max_length=500,
                                   description="Omit to mark every notification read.")


class MarkReadOut(Schema):
    marked: int


@router.get("/notifications", response=Page[NotificationOut])
def notifications_list(request: ApiRequest, page: Query[PageParams],
                       filters: Query[NotificationFilter]) -> Any:
    """My notifications, newest first."""
    actor = require(request)
    user = actor.acting_user
    if user is None:
        return {"items": [], "next_cursor": None}
    qs = notification_list(tenant=request.tenant, user=user, unread=filters.unread)
    return paginate(qs, page, ordering=("-created_at", "-id"))


@router.get("/notifications/unread", response=UnreadOut)
def notifications_unread(request: ApiRequest) -> Any:
    """How many of my notifications are unread (what the bell shows)."""
    user = require(request).acting_user
    count = notification_unread_count(tenant=request.tenant, user=user) if user else 0
    return {"unread": count}


@router.post("/notifications/read", response=MarkReadOut)
def notifications_read(request: ApiRequest, payload: MarkReadIn) -> Any:
    """Mark my notifications read: the ones in `ids`, or all. Ids of other members' (or other
    organizations') notifications are ignored."""
    user = require(request).acting_user
    if user is None:
        return {"marked": 0}
    marked = notifications_mark_read(tenant=request.tenant, user=user, ids=payload.ids)
    return {"marked": marked}

