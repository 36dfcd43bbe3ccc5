"""Social posts: connected accounts (connect by token, check, disconnect), posts (compose,
schedule, unschedule, delete) with per-account results and engagement, and the calendar."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import ValidationFailed
from tend.marketing.selectors.automation import (
    social_calendar,
    social_connection_get,
    social_connection_list,
    social_post_get,
    social_post_list,
)
from tend.marketing.services import social as svc

router = Router(tags=["Social posts"])


class ConnectionOut(Schema):
    id: UUID
    platform: str
    name: str
    account_id: str
    scopes: list[str]
    status: str
    last_error: str
    last_checked_at: dt.datetime | None
    created_at: dt.datetime


class ConnectIn(Schema):
    model_config = ConfigDict(extra="forbid")

    platform: Literal["FACEBOOK", "INSTAGRAM", "TWITTER", "LINKEDIN", "TIKTOK"]
    access_token: str = Field(max_length=4000)
    account_id: str = Field("", max_length=200,
                            description="Facebook page id / Instagram account id")
    refresh_token: str = Field("", max_length=4000)
    api_base: str = Field("", max_length=500, description="Override the platform's API root")
    settings: dict[str, str] = Field(default_factory=dict,
                                     description="author (LinkedIn URN), privacy_level")


class TargetOut(Schema):
    id: UUID
    connection_id: UUID
    platform: str
    account: str
    status: str
    platform_post_id: str
    url: str
    error: str
    published_at: dt.datetime | None
    likes: int
    comments: int
    shares: int
    impressions: int
    metrics_synced_at: dt.datetime | None

    @staticmethod
    def resolve_platform(obj: Any) -> str:
        return str(obj.connection.platform)

    @staticmethod
    def resolve_account(obj: Any) -> str:
        return str(obj.connection.name)


class MediaIn(Schema):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=500)
    type: Literal["image", "video"] = "image"


class PostOut(Schema):
    id: UUID
    content: str
    link: str
    hashtags: list[str]
    media: list[dict[str, Any]]
    status: str
    scheduled_at: dt.datetime | None
    published_at: dt.datetime | None
    attempts: int
    error: str
    targets: list[TargetOut]
    created_at: dt.datetime

    @staticmethod
    def resolve_targets(obj: Any) -> list[Any]:
        return list(obj.targets.all())


class PostFields(Schema):
    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(None, max_length=60_000)
    link: str | None = Field(None, max_length=500)
    hashtags: list[str] | None = Field(None, max_length=30)
    media: list[MediaIn] | None = Field(None, max_length=10)
    connection_ids: list[UUID] | None = Field(None, max_length=20)
    scheduled_at: dt.datetime | None = Field(None, description="Planned time (a draft)")


class ScheduleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    at: dt.datetime | None = Field(None, description="Default: the planned time, or now")


class PostFilter(Schema):
    status: Literal["DRAFT", "SCHEDULED", "PUBLISHING", "PUBLISHED", "FAILED"] | None = None


class CalendarQuery(Schema):
    year: int = Field(ge=2000, le=2100)
    month: int = Field(ge=1, le=12)


def _data(payload: PostFields) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    if data.get("connection_ids") is not None:
        data["connection_ids"] = [str(v) for v in data["connection_ids"]]
    return data


@router.get("/social/connections", response=Page[ConnectionOut])
def social_connections_list(request: ApiRequest, page: Query[PageParams]):
    require(request, "social.view")
    return paginate(social_connection_list(tenant=request.tenant), page,
                    ordering=("platform", "name", "id"))


@router.post("/social/connections", response={201: ConnectionOut})
def social_connections_create(request: ApiRequest, payload: ConnectIn):
    """Connect an account by pasting its access token; the platform is asked whose it is
    first (a refused token is a 422 on `access_token`). Needs `social.manage`."""
    actor = require(request, "social.manage")
    return Status(201, svc.social_connection_create(
        tenant=request.tenant, actor=actor, platform=payload.platform,
        access_token=payload.access_token, account_id=payload.account_id,
        refresh_token=payload.refresh_token, api_base=payload.api_base,
        settings=payload.settings))


@router.get("/social/connections/{connection_id}", response=ConnectionOut)
def social_connections_get(request: ApiRequest, connection_id: UUID):
    require(request, "social.view")
    return social_connection_get(tenant=request.tenant, connection_id=connection_id)


@router.post("/social/connections/{connection_id}/check", response=ConnectionOut)
def social_connections_check(request: ApiRequest, connection_id: UUID):
    """Ask the platform whether the token still works."""
    actor = require(request, "social.manage")
    connection = social_connection_get(tenant=request.tenant, connection_id=connection_id)
    return svc.social_connection_check(tenant=request.tenant, actor=actor,
                                       connection=connection)


@router.post("/social/connections/{connection_id}/disconnect", response=ConnectionOut)
def social_connections_disconnect(request: ApiRequest, connection_id: UUID):
    actor = require(request, "social.manage")
    connection = social_connection_get(tenant=request.tenant, connection_id=connection_id)
    return svc.social_connection_disconnect(tenant=request.tenant, actor=actor,
                                            connection=connection)


@router.get("/social/posts", response=Page[PostOut])
def social_posts_list(request: ApiRequest, page: Query[PageParams],
                      filters: Query[PostFilter]):
    require(request, "social.view")
    return paginate(social_post_list(tenant=request.tenant, status=filters.status or ""),
                    page, ordering=("-created_at", "-id"))


@router.get("/social/calendar", response=list[list[dict[str, Any]]])
def social_posts_calendar(request: ApiRequest, q: Query[CalendarQuery]):
    """The month as weeks of days, each with its posts' ids, status, time and text."""
    require(request, "social.view")
    weeks = social_calendar(tenant=request.tenant, year=q.year, month=q.month,
                            zone=request.tenant.time_zone or "UTC")
    return [[{"date": d["date"].isoformat(), "in_month": d["in_month"],
              "posts": [{"id": str(p.pk), "status": p.status,
                         "at": (p.published_at or p.scheduled_at).isoformat(),
                         "text": p.content[:200]} for p in d["posts"]]}
             for d in week] for week in weeks]


@router.post("/social/posts", response={201: PostOut})
def social_posts_create(request: ApiRequest, payload: PostFields):
    """A draft post. Needs `social.add`."""
    actor = require(request, "social.add")
    post = svc.social_post_create(tenant=request.tenant, actor=actor, data=_data(payload))
    return Status(201, social_post_get(tenant=request.tenant, post_id=post.pk))


@router.get("/social/posts/{post_id}", response=PostOut)
def social_posts_get(request: ApiRequest, post_id: UUID):
    require(request, "social.view")
    return social_post_get(tenant=request.tenant, post_id=post_id)


@router.patch("/social/posts/{post_id}", response=PostOut)
def social_posts_update(request: ApiRequest, post_id: UUID, payload: PostFields):
    actor = require(request, "social.change")
    post = social_post_get(tenant=request.tenant, post_id=post_id)
    svc.social_post_update(tenant=request.tenant, actor=actor, post=post, data=_data(payload))
    return social_post_get(tenant=request.tenant, post_id=post_id)


@router.delete("/social/posts/{post_id}", response={204: None})
def social_posts_delete(request: ApiRequest, post_id: UUID):
    actor = require(request, "social.delete")
    post = social_post_get(tenant=request.tenant, post_id=post_id)
    svc.social_post_delete(tenant=request.tenant, actor=actor, post=post)
    return Status(204, None)


@router.post("/social/posts/{post_id}/schedule", response=PostOut)
def social_posts_schedule(request: ApiRequest, post_id: UUID, payload: ScheduleIn):
    """Schedule (or publish now, when the time has come). Needs `social.send`."""
    actor = require(request, "social.send")
    post = social_post_get(tenant=request.tenant, post_id=post_id)
    if payload.at is not None and timezone.is_naive(payload.at):
        raise ValidationFailed(fields={"at": ["Give a time zone."]})
    svc.social_post_schedule(tenant=request.tenant, actor=actor, post=post, at=payload.at)
    return social_post_get(tenant=request.tenant, post_id=post_id)


@router.post("/social/posts/{post_id}/unschedule", response=PostOut)
def social_posts_unschedule(request: ApiRequest, post_id: UUID):
    actor = require(request, "social.send")
    post = social_post_get(tenant=request.tenant, post_id=post_id)
    svc.social_post_unschedule(tenant=request.tenant, actor=actor, post=post)
    return social_post_get(tenant=request.tenant, post_id=post_id)
