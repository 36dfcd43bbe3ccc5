"""Segments: CRUD, members (cursor pages, add and remove for static lists), refresh, history,
and checking or counting a rule without saving it (delegated to the rule language)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import ValidationFailed
from tend.marketing.choices import MembershipSource
from tend.marketing.selectors.segments import (
    contact_segments,
    segment_count_history,
    segment_get,
    segment_list,
    segment_members,
    segment_refreshes,
)
from tend.marketing.services.membership import (
    segment_add_members,
    segment_refresh,
    segment_remove_members,
)
from tend.marketing.services.refreshjobs import REFRESH_INLINE_MAX, segment_refresh_start
from tend.marketing.services.segments import segment_create, segment_delete, segment_update
from tend.people.selectors.contacts import contact_get

router = Router(tags=["Segments"])


class SegmentOut(Schema):
    id: UUID
    name: str
    description: str
    type: str = Field(description="STATIC, DYNAMIC or IMPORT")
    rule: dict[str, Any]
    is_active: bool
    is_system: bool
    refresh_frequency: str = Field(description="MANUAL, HOURLY, DAILY or WEEKLY")
    member_count: int
    last_refreshed_at: dt.datetime | None
    next_refresh_at: dt.datetime | None
    dependencies: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class SegmentFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    rule: dict[str, Any] | None = Field(None, description="DYNAMIC only: see docs/rules.md.")
    is_active: bool | None = None
    refresh_frequency: str | None = None


class SegmentIn(SegmentFields):
    name: str = Field(max_length=200)
    type: str = Field("STATIC", description="STATIC, DYNAMIC or IMPORT")


class SegmentFilter(Schema):
    q: str | None = Field(None, max_length=200)
    type: str | None = None
    active: bool | None = None


class ContactRef(Schema):
    id: UUID
    display_name: str
    primary_email: str
    primary_phone: str


class MemberOut(Schema):
    contact: ContactRef
    matched_at: dt.datetime
    source: str
    added_by_id: UUID | None


class ContactIdsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[UUID] = Field(max_length=10_000)


class ChangedOut(Schema):
    count: int


class RefreshOut(Schema):
    id: UUID
    trigger: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    added: int
    removed: int
    member_count: int
    duration_ms: int
    job_id: UUID | None


class RefreshStarted(Schema):
    refresh: RefreshOut | None = Field(None, description="The refresh, when it ran at once.")
    job_id: UUID | None = Field(None, description="The job running it (big segments).")


class CountPoint(Schema):
    day: dt.date
    member_count: int


class RuleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any]


class RuleProblemOut(Schema):
    path: str
    message: str


class RuleCheckOut(Schema):
    valid: bool
    problems: list[RuleProblemOut]


class RuleCountOut(Schema):
    count: int
    sample: list[ContactRef]


class ContactSegmentOut(Schema):
    id: UUID
    name: str
    type: str
    matched_at: dt.datetime
    source: str


# --- segments --------------------------------------------------------------------------------


@router.get("/segments", response=Page[SegmentOut])
def segments_list(request: ApiRequest, page: Query[PageParams], filters: Query[SegmentFilter]):
    """The organization's segments. Needs `segments.view`."""
    require(request, "segments.view")
    qs = segment_list(tenant=request.tenant, search=filters.q or "", type=filters.type or "",
                      active=filters.active)
    return paginate(qs, page, ordering=("name", "id"))


@router.post("/segments", response={201: SegmentOut})
def segments_create(request: ApiRequest, payload: SegmentIn):
    """Create a segment; a dynamic one is filled at once. Needs `segments.add`."""
    actor = require(request, "segments.add")
    data = payload.model_dump(exclude_unset=True)
    data.setdefault("type", payload.type)
    return Status(201, segment_create(tenant=request.tenant, actor=actor, data=data))


@router.post("/segments/rule/validate", response=RuleCheckOut)
def segments_rule_validate(request: ApiRequest, payload: RuleIn):
    """Every problem of a rule, with its path ([] when valid). Needs `segments.view`."""
    require(request, "segments.view")
    from tend.rules import rule_validate

    problems = rule_validate(tenant=request.tenant, rule=payload.rule)
    return {"valid": not problems,
            "problems": [{"path": p.path, "message": str(p.message)} for p in problems]}


@router.post("/segments/rule/count", response=RuleCountOut)
def segments_rule_count(request: ApiRequest, payload: RuleIn):
    """How many contacts a rule matches now, and ten of them, without saving anything.
    Needs `segments.view` and `contacts.view`."""
    require(request, "segments.view", "contacts.view")
    from tend.marketing.ruleset import clean_rule, matching_contacts

    rule = clean_rule(tenant=request.tenant, rule=payload.rule)
    qs = matching_contacts(tenant=request.tenant, rule=rule)
    return {"count": qs.count(), "sample": list(qs.order_by("display_name", "id")[:10])}


@router.get("/segments/{segment_id}", response=SegmentOut)
def segments_get(request: ApiRequest, segment_id: UUID):
    """One segment. Needs `segments.view`."""
    require(request, "segments.view")
    return segment_get(tenant=request.tenant, segment_id=segment_id)


@router.patch("/segments/{segment_id}", response=SegmentOut)
def segments_update(request: ApiRequest, segment_id: UUID, payload: SegmentFields):
    """Change the fields sent; new rules refresh the segment. Needs `segments.change`."""
    actor = require(request, "segments.change")
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    return segment_update(tenant=request.tenant, actor=actor, segment=segment,
                          data=payload.model_dump(exclude_unset=True))


@router.delete("/segments/{segment_id}", response={204: None})
def segments_delete(request: ApiRequest, segment_id: UUID):
    """Delete a segment (not a system one). Needs `segments.delete`."""
    actor = require(request, "segments.delete")
    segment_delete(tenant=request.tenant, actor=actor,
                   segment=segment_get(tenant=request.tenant, segment_id=segment_id))
    return Status(204, None)


# --- members ---------------------------------------------------------------------------------


@router.get("/segments/{segment_id}/members", response=Page[MemberOut])
def segments_members(request: ApiRequest, segment_id: UUID, page: Query[PageParams]):
    """The members, most recent first. Needs `segments.view` and `contacts.view`."""
    actor = require(request, "segments.view", "contacts.view")
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    return paginate(segment_members(tenant=request.tenant, segment=segment, actor=actor), page,
                    ordering=("-matched_at", "-id"))


@router.post("/segments/{segment_id}/members", response=ChangedOut)
def segments_members_add(request: ApiRequest, segment_id: UUID, payload: ContactIdsIn):
    """Add contacts to a static list (ids of other organizations are skipped); `count` says
    how many were new. Needs `segments.change`."""
    actor = require(request, "segments.change")
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    count = segment_add_members(tenant=request.tenant, actor=actor, segment=segment,
                                contact_ids=payload.contact_ids, source=MembershipSource.API)
    return {"count": count}


@router.post("/segments/{segment_id}/members/remove", response=ChangedOut)
def segments_members_remove(request: ApiRequest, segment_id: UUID, payload: ContactIdsIn):
    """Remove contacts from a static list; `count` says how many were members. Needs
    `segments.change`."""
    actor = require(request, "segments.change")
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    count = segment_remove_members(tenant=request.tenant, actor=actor, segment=segment,
                                   contact_ids=payload.contact_ids)
    return {"count": count}


@router.post("/segments/{segment_id}/refresh", response={200: RefreshStarted,
                                                         202: RefreshStarted})
def segments_refresh(request: ApiRequest, segment_id: UUID):
    """Recompute a dynamic segment now; big ones (over 20,000 members) run as a job (202
    with `job_id`). Needs `segments.change`."""
    actor = require(request, "segments.change")
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    if segment.member_count > REFRESH_INLINE_MAX:
        job = segment_refresh_start(tenant=request.tenant, actor=actor, segment=segment)
        return Status(202, {"refresh": None, "job_id": job.pk})
    refresh = segment_refresh(tenant=request.tenant, actor=actor, segment=segment)
    return Status(200, {"refresh": refresh, "job_id": None})


@router.get("/segments/{segment_id}/refreshes", response=list[RefreshOut])
def segments_refreshes(request: ApiRequest, segment_id: UUID):
    """The last 20 refreshes, newest first. Needs `segments.view`."""
    require(request, "segments.view")
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    return segment_refreshes(tenant=request.tenant, segment=segment)


@router.get("/segments/{segment_id}/history", response=list[CountPoint])
def segments_history(request: ApiRequest, segment_id: UUID, days: int = 90):
    """The member count per day for the last `days` days (1 to 730; the growth chart).
    Needs `segments.view`."""
    require(request, "segments.view")
    if not 1 <= days <= 730:
        raise ValidationFailed(fields={"days": [_("Enter a number from 1 to 730.")]})
    segment = segment_get(tenant=request.tenant, segment_id=segment_id)
    return [{"day": day, "member_count": count} for day, count in
            segment_count_history(tenant=request.tenant, segment=segment, days=days)]


@router.get("/contacts/{contact_id}/segments", response=list[ContactSegmentOut])
def contact_segments_list(request: ApiRequest, contact_id: UUID):
    """The segments a contact belongs to. Needs `segments.view` and `contacts.view`."""
    require(request, "segments.view", "contacts.view")
    contact = contact_get(tenant=request.tenant, contact_id=contact_id)
    return [{"id": m.segment_id, "name": m.segment.name, "type": m.segment.type,
             "matched_at": m.matched_at, "source": m.source}
            for m in contact_segments(tenant=request.tenant, contact_id=contact.pk)]
