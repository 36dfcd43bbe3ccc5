"""Pods: matching profiles, pods, memberships, meetings and attendance, matching runs, KPIs."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.community.models import PodStatus
from tend.community.selectors.pods_core import (
    meeting_get,
    meeting_list,
    membership_get,
    pod_get,
    pod_list,
    pod_members,
    run_get,
)
from tend.community.selectors.pods_kpis import pods_kpi_series, pods_kpis
from tend.community.services.matching import matching_adjust, matching_confirm, matching_propose
from tend.community.services.pods_core import (
    attendance_import,
    attendance_record,
    meeting_update,
    meetings_generate,
    membership_update,
    next_meeting_at,
    pod_create,
    pod_join,
    pod_leave,
    pod_update,
    profile_for,
    profile_update,
)
from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.people.api._contact_page import contact_in_body, contact_of

router = Router(tags=["Pods"])


class ProfileOut(Schema):
    contact_id: UUID
    goals_category: str
    experience_level: str
    meeting_style: str
    strengths: list[str]
    help_needed: list[str]
    bio: str
    waiting: bool
    total_commitments: int
    completed_commitments: int
    active_commitments: int
    current_streak: int
    longest_streak: int
    last_activity_at: datetime | None


class ProfileIn(Schema):
    model_config = ConfigDict(extra="forbid")

    goals_category: str | None = Field(None, max_length=40)
    experience_level: str | None = None
    meeting_style: str | None = None
    strengths: list[str] | None = None
    help_needed: list[str] | None = None
    bio: str | None = Field(None, max_length=2000)
    waiting: bool | None = None


class PodOut(Schema):
    id: UUID
    name: str
    description: str
    day_of_week: int
    time: time
    time_zone: str
    duration_minutes: int
    meeting_link: str
    capacity: int
    member_count: int
    status: str
    target_goals_category: str
    target_experience_level: str
    target_utc_offset_min: int | None
    target_utc_offset_max: int | None
    attendance_rate: float | None
    completion_rate: float | None
    satisfaction: float | None
    next_meeting_at: datetime | None = None

    @staticmethod
    def resolve_next_meeting_at(obj: Any) -> datetime | None:
        return next_meeting_at(obj) if obj.status != PodStatus.DISBANDED else None


class PodIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    description: str = Field("", max_length=5000)
    day_of_week: int = Field(1, ge=1, le=7, description="1 Monday … 7 Sunday")
    time: str = Field(description="Local wall time, HH:MM")
    time_zone: str = Field("UTC", max_length=64)
    duration_minutes: int = 60
    meeting_link: str = Field("", max_length=500)
    capacity: int = 6
    target_goals_category: str = Field("", max_length=40)
    target_experience_level: str = ""
    target_utc_offset_min: int | None = Field(
        None, description="Matching places only people whose UTC offset (minutes) is at "
                          "least this")
    target_utc_offset_max: int | None = Field(None, description="… and at most this.")


class PodPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    day_of_week: int | None = Field(None, ge=1, le=7)
    time: str | None = None
    time_zone: str | None = Field(None, max_length=64)
    duration_minutes: int | None = None
    meeting_link: str | None = Field(None, max_length=500)
    capacity: int | None = None
    status: str | None = None
    target_goals_category: str | None = Field(None, max_length=40)
    target_experience_level: str | None = None
    target_utc_offset_min: int | None = None
    target_utc_offset_max: int | None = None


class MemberOut(Schema):
    id: UUID
    pod_id: UUID
    contact_id: UUID
    contact_name: str
    status: str
    joined_at: datetime
    left_at: datetime | None
    meetings_attended: int
    meetings_missed: int
    contribution_score: float | None
    payment_active: bool
    last_payment_at: datetime | None

    @staticmethod
    def resolve_contact_name(obj: Any) -> str:
        return str(obj.contact)


class MemberIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID
    payment_active: bool = False


class MemberPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description="ACTIVE or PAUSED")
    payment_active: bool | None = None
    last_payment_at: datetime | None = None


class MeetingOut(Schema):
    id: UUID
    pod_id: UUID
    scheduled_at: datetime
    duration_minutes: int
    status: str
    agenda: str
    notes: str
    action_items: list[str]
    energy_level: int | None
    attendance_rate: float | None


class MeetingPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str | None = None
    agenda: str | None = Field(None, max_length=20000)
    notes: str | None = Field(None, max_length=20000)
    action_items: list[str] | None = None
    energy_level: int | None = None


class GenerateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    weeks: int = Field(4, ge=1, le=52)


class AttendanceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID
    attended: bool
    rating: int | None = Field(None, ge=1, le=5)


class AttendanceOut(Schema):
    id: UUID
    meeting_id: UUID
    contact_id: UUID
    attended: bool
    rating: int | None
    source: str


class ImportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    csv: str = Field(max_length=2_000_000)


class RunOut(Schema):
    id: UUID
    status: str
    proposal: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None


class ProposeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    pod_size: int = 6


class AdjustIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: str = Field(max_length=40)
    pod: str = Field("", max_length=40, description="A pod id, a new-pod key, or empty.")


class StatusQuery(Schema):
    status: str | None = None


@router.get("/contacts/{contact_id}/pods-profile", response=ProfileOut)
def profile_get(request: ApiRequest, contact_id: UUID) -> Any:
    """The person's matching profile and engagement figures. Needs `pods.view`."""
    require(request, "pods.view")
    return profile_for(tenant=request.tenant, contact=contact_of(request, contact_id))


@router.patch("/contacts/{contact_id}/pods-profile", response=ProfileOut)
def profile_patch(request: ApiRequest, contact_id: UUID, payload: ProfileIn) -> Any:
    actor = require(request, "pods.change")
    return profile_update(tenant=request.tenant, actor=actor,
                          contact=contact_of(request, contact_id),
                          data=payload.model_dump(exclude_unset=True))


@router.get("/community/pods", response=Page[PodOut])
def pods_list(request: ApiRequest, page: Query[PageParams], filters: Query[StatusQuery]) -> Any:
    require(request, "pods.view")
    return paginate(pod_list(tenant=request.tenant, status=filters.status), page,
                    ordering=("name", "id"))


@router.post("/community/pods", response={201: PodOut})
def pods_create(request: ApiRequest, payload: PodIn) -> Any:
    """Create a pod meeting weekly on `day_of_week` at `time` in `time_zone`. Needs
    `pods.change`."""
    actor = require(request, "pods.change")
    return Status(201, pod_create(tenant=request.tenant, actor=actor, data=payload.model_dump()))


@router.get("/community/pods/{pod_id}", response=PodOut)
def pods_get(request: ApiRequest, pod_id: UUID) -> Any:
    require(request, "pods.view")
    return pod_get(tenant=request.tenant, pod_id=pod_id)


@router.patch("/community/pods/{pod_id}", response=PodOut)
def pods_update(request: ApiRequest, pod_id: UUID, payload: PodPatch) -> Any:
    actor = require(request, "pods.change")
    return pod_update(tenant=request.tenant, actor=actor,
                      pod=pod_get(tenant=request.tenant, pod_id=pod_id),
                      data=payload.model_dump(exclude_unset=True))


@router.get("/community/pods/{pod_id}/members", response=Page[MemberOut])
def pods_members(request: ApiRequest, pod_id: UUID, page: Query[PageParams]) -> Any:
    require(request, "pods.view")
    pod = pod_get(tenant=request.tenant, pod_id=pod_id)
    return paginate(pod_members(tenant=request.tenant, pod=pod), page, ordering=("id",))


@router.post("/community/pods/{pod_id}/members", response={201: MemberOut})
def pods_members_add(request: ApiRequest, pod_id: UUID, payload: MemberIn) -> Any:
    """Add a person (a full pod answers 422). Needs `pods.change`."""
    actor = require(request, "pods.change")
    pod = pod_get(tenant=request.tenant, pod_id=pod_id)
    contact = contact_in_body(request, payload.contact_id)
    return Status(201, pod_join(tenant=request.tenant, actor=actor, pod=pod,
                                contact=contact,  # type: ignore[arg-type]
                                payment_active=payload.payment_active))


@router.patch("/community/pod-memberships/{membership_id}", response=MemberOut)
def memberships_update(request: ApiRequest, membership_id: UUID, payload: MemberPatch) -> Any:
    """Pause or resume a membership, and keep its payment state. Needs `pods.change`."""
    actor = require(request, "pods.change")
    return membership_update(tenant=request.tenant, actor=actor, membership=membership_get(
        tenant=request.tenant, membership_id=membership_id),
        data=payload.model_dump(exclude_unset=True))


@router.post("/community/pod-memberships/{membership_id}/leave", response=MemberOut)
def memberships_leave(request: ApiRequest, membership_id: UUID) -> Any:
    actor = require(request, "pods.change")
    return pod_leave(tenant=request.tenant, actor=actor, membership=membership_get(
        tenant=request.tenant, membership_id=membership_id))


@router.get("/community/pods/{pod_id}/meetings", response=Page[MeetingOut])
def pods_meetings(request: ApiRequest, pod_id: UUID, page: Query[PageParams]) -> Any:
    require(request, "pods.view")
    pod = pod_get(tenant=request.tenant, pod_id=pod_id)
    return paginate(meeting_list(tenant=request.tenant, pod=pod), page,
                    ordering=("scheduled_at", "id"))


@router.post("/community/pods/{pod_id}/meetings/generate", response=list[MeetingOut])
def pods_meetings_generate(request: ApiRequest, pod_id: UUID, payload: GenerateIn) -> Any:
    """Create the next `weeks` meetings from the schedule (existing ones are kept)."""
    require(request, "pods.change")
    pod = pod_get(tenant=request.tenant, pod_id=pod_id)
    return meetings_generate(tenant=request.tenant, pod=pod, weeks=payload.weeks)


@router.post("/community/pods/{pod_id}/attendance-import")
def pods_attendance_import(request: ApiRequest, pod_id: UUID, payload: ImportIn) -> Any:
    """CSV with `date` (local), `contact_id` or `email`, `attended`, optional `rating`."""
    actor = require(request, "pods.change")
    pod = pod_get(tenant=request.tenant, pod_id=pod_id)
    return attendance_import(tenant=request.tenant, actor=actor, pod=pod, content=payload.csv)


@router.get("/community/pod-meetings/{meeting_id}", response=MeetingOut)
def meetings_get(request: ApiRequest, meeting_id: UUID) -> Any:
    require(request, "pods.view")
    return meeting_get(tenant=request.tenant, meeting_id=meeting_id)


@router.get("/community/pod-meetings/{meeting_id}/attendance", response=list[AttendanceOut])
def meetings_attendance_list(request: ApiRequest, meeting_id: UUID) -> Any:
    """Who was there, with their ratings (1 to 5) and where each answer came from."""
    require(request, "pods.view")
    meeting = meeting_get(tenant=request.tenant, meeting_id=meeting_id)
    return list(meeting.attendance.filter(tenant=request.tenant).order_by("created_at", "id")
                [:500])


@router.patch("/community/pod-meetings/{meeting_id}", response=MeetingOut)
def meetings_update(request: ApiRequest, meeting_id: UUID, payload: MeetingPatch) -> Any:
    actor = require(request, "pods.change")
    return meeting_update(tenant=request.tenant, actor=actor, meeting=meeting_get(
        tenant=request.tenant, meeting_id=meeting_id), data=payload.model_dump(
        exclude_unset=True))


@router.post("/community/pod-meetings/{meeting_id}/attendance", response=AttendanceOut)
def meetings_attendance(request: ApiRequest, meeting_id: UUID, payload: AttendanceIn) -> Any:
    actor = require(request, "pods.change")
    meeting = meeting_get(tenant=request.tenant, meeting_id=meeting_id)
    contact = contact_in_body(request, payload.contact_id)
    return attendance_record(tenant=request.tenant, actor=actor, meeting=meeting,
                             contact=contact,  # type: ignore[arg-type]
                             attended=payload.attended, rating=payload.rating)


@router.post("/community/pod-matching", response={201: RunOut})
def matching_create(request: ApiRequest, payload: ProposeIn) -> Any:
    """Propose pods for everyone waiting (stored for review). Needs `pods.change`."""
    actor = require(request, "pods.change")
    return Status(201, matching_propose(tenant=request.tenant, actor=actor,
                                        pod_size=payload.pod_size))


@router.get("/community/pod-matching/{run_id}", response=RunOut)
def matching_get(request: ApiRequest, run_id: UUID) -> Any:
    require(request, "pods.change")
    return run_get(tenant=request.tenant, run_id=run_id)


@router.post("/community/pod-matching/{run_id}/adjust", response=RunOut)
def matching_move(request: ApiRequest, run_id: UUID, payload: AdjustIn) -> Any:
    actor = require(request, "pods.change")
    return matching_adjust(tenant=request.tenant, actor=actor,
                           run=run_get(tenant=request.tenant, run_id=run_id),
                           contact_id=payload.contact_id, pod=payload.pod)


@router.post("/community/pod-matching/{run_id}/confirm")
def matching_done(request: ApiRequest, run_id: UUID) -> Any:
    """Create the new pods and memberships and send the intro cards (once per run)."""
    actor = require(request, "pods.change")
    return matching_confirm(tenant=request.tenant, actor=actor,
                            run=run_get(tenant=request.tenant, run_id=run_id))


@router.get("/community/pod-kpis")
def kpis(request: ApiRequest) -> Any:
    """This week's KPIs and eight weeks of history."""
    require(request, "pods.view")
    return {"now": pods_kpis(tenant=request.tenant),
            "weeks": pods_kpi_series(tenant=request.tenant)}
