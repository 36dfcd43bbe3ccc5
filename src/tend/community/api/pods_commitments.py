"""Commitments (SMART-scored), their check-ins, and goals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.community.selectors.pods_core import (
    commitment_get,
    commitment_list,
    goal_get,
    goal_list,
)
from tend.community.services import smart
from tend.community.services.commitments import (
    commitment_check_in,
    commitment_create,
    commitment_set_status,
    commitment_update,
    goal_create,
    goal_update,
)
from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.people.api._contact_page import contact_of

router = Router(tags=["Commitments"])


def _commitment(request: ApiRequest, commitment_id: UUID) -> Any:
    """The commitment, if its person is one the caller may see (visibility limits)."""
    commitment = commitment_get(tenant=request.tenant, commitment_id=commitment_id)
    contact_of(request, commitment.contact_id)
    return commitment


def _goal(request: ApiRequest, goal_id: UUID) -> Any:
    goal = goal_get(tenant=request.tenant, goal_id=goal_id)
    contact_of(request, goal.contact_id)
    return goal


class CommitmentOut(Schema):
    id: UUID
    contact_id: UUID
    text: str
    original_text: str
    smart_score: int
    smart_checks: dict[str, Any]
    category: str
    difficulty: int
    estimated_minutes: int | None
    status: str
    due_date: date | None
    completed_at: datetime | None
    goal_id: UUID | None
    shared_with_pod: bool
    created_at: datetime


class CommitmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1000)
    category: str = Field("", max_length=40)
    difficulty: int = Field(3, ge=1, le=5)
    estimated_minutes: int | None = None
    due_date: date | None = None
    goal_id: UUID | None = None
    shared_with_pod: bool = False


class CommitmentPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, max_length=1000)
    category: str | None = Field(None, max_length=40)
    difficulty: int | None = None
    estimated_minutes: int | None = None
    due_date: date | None = None
    goal_id: UUID | None = None
    shared_with_pod: bool | None = None
    status: str | None = None


class StatusIn(Schema):
    model_config = ConfigDict(extra="forbid")

    status: str


class CheckInIn(Schema):
    model_config = ConfigDict(extra="forbid")

    done: bool
    note: str = Field("", max_length=2000)
    day: date | None = None
    complete: bool = False


class CheckInOut(Schema):
    id: UUID
    commitment_id: UUID
    day: date
    done: bool
    note: str
    source: str


class GoalOut(Schema):
    id: UUID
    contact_id: UUID
    title: str
    description: str
    target_date: date | None
    category: str
    progress: int
    status: str
    summaries: list[dict[str, Any]]


class GoalIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=200)
    description: str = Field("", max_length=5000)
    target_date: date | None = None
    category: str = Field("", max_length=40)


class GoalPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)
    target_date: date | None = None
    category: str | None = Field(None, max_length=40)
    progress: int | None = None
    status: str | None = None
    summary: str | None = Field(None, max_length=2000)


class AnalyzeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=1000)
    goal: str = Field("", max_length=200)


class ListQuery(Schema):
    status: str | None = None


@router.post("/community/smart-analysis")
def smart_analyze(request: ApiRequest, payload: AnalyzeIn) -> Any:
    """Score a draft commitment (specific, measurable, achievable, relevant, time-bound)."""
    require(request, "pods.view")
    result = smart.analyze(payload.text, goal=payload.goal)
    return {"score": result.score, "checks": result.checks, "suggestion": result.suggestion}


@router.get("/contacts/{contact_id}/commitments", response=Page[CommitmentOut])
def commitments_list(request: ApiRequest, contact_id: UUID, page: Query[PageParams],
                     filters: Query[ListQuery]) -> Any:
    require(request, "pods.view")
    return paginate(commitment_list(tenant=request.tenant, contact=contact_of(
        request, contact_id), status=filters.status), page, ordering=("-created_at", "id"))


@router.post("/contacts/{contact_id}/commitments", response={201: CommitmentOut})
def commitments_create(request: ApiRequest, contact_id: UUID, payload: CommitmentIn) -> Any:
    actor = require(request, "pods.change")
    contact = contact_of(request, contact_id)
    goal = None
    if payload.goal_id is not None:
        try:
            goal = goal_get(tenant=request.tenant, goal_id=payload.goal_id)
        except NotFound:
            raise ValidationFailed(fields={"goal_id": ["Choose one of this person's goals."]}
                                   ) from None
    return Status(201, commitment_create(
        tenant=request.tenant, actor=actor, contact=contact, text=payload.text,
        category=payload.category, difficulty=payload.difficulty,
        estimated_minutes=payload.estimated_minutes, due_date=payload.due_date, goal=goal,
        shared_with_pod=payload.shared_with_pod))


@router.get("/community/commitments/{commitment_id}", response=CommitmentOut)
def commitments_get(request: ApiRequest, commitment_id: UUID) -> Any:
    require(request, "pods.view")
    return _commitment(request, commitment_id)


@router.patch("/community/commitments/{commitment_id}", response=CommitmentOut)
def commitments_update(request: ApiRequest, commitment_id: UUID,
                       payload: CommitmentPatch) -> Any:
    """Edit a commitment (a new text is scored again; `original_text` keeps the first
    wording). `null` clears estimated_minutes, due_date and goal_id. Needs `pods.change`."""
    actor = require(request, "pods.change")
    return commitment_update(tenant=request.tenant, actor=actor, commitment=_commitment(
        request, commitment_id),
        data=payload.model_dump(exclude_unset=True))


@router.get("/community/commitments/{commitment_id}/check-ins", response=list[CheckInOut])
def commitments_check_ins(request: ApiRequest, commitment_id: UUID) -> Any:
    """The commitment's check-ins, newest day first (at most 366)."""
    require(request, "pods.view")
    commitment = _commitment(request, commitment_id)
    return list(commitment.checkins.filter(tenant=request.tenant).order_by("-day")[:366])


@router.post("/community/commitments/{commitment_id}/status", response=CommitmentOut)
def commitments_status(request: ApiRequest, commitment_id: UUID, payload: StatusIn) -> Any:
    actor = require(request, "pods.change")
    return commitment_set_status(tenant=request.tenant, actor=actor, commitment=_commitment(
        request, commitment_id), status=payload.status)


@router.post("/community/commitments/{commitment_id}/check-ins", response={201: CheckInOut})
def commitments_check_in(request: ApiRequest, commitment_id: UUID, payload: CheckInIn) -> Any:
    """The day's report (done or not); a done day extends the streak."""
    actor = require(request, "pods.change")
    commitment = _commitment(request, commitment_id)
    return Status(201, commitment_check_in(
        tenant=request.tenant, actor=actor, commitment=commitment, done=payload.done,
        note=payload.note, day=payload.day, complete=payload.complete))


@router.get("/contacts/{contact_id}/goals", response=list[GoalOut])
def goals_list(request: ApiRequest, contact_id: UUID) -> Any:
    require(request, "pods.view")
    contact = contact_of(request, contact_id)
    return list(goal_list(tenant=request.tenant, contact=contact)[:200])


@router.post("/contacts/{contact_id}/goals", response={201: GoalOut})
def goals_create(request: ApiRequest, contact_id: UUID, payload: GoalIn) -> Any:
    actor = require(request, "pods.change")
    return Status(201, goal_create(tenant=request.tenant, actor=actor,
                                   contact=contact_of(request, contact_id),
                                   data=payload.model_dump()))


@router.get("/community/goals/{goal_id}", response=GoalOut)
def goals_get(request: ApiRequest, goal_id: UUID) -> Any:
    require(request, "pods.view")
    return _goal(request, goal_id)


@router.patch("/community/goals/{goal_id}", response=GoalOut)
def goals_update(request: ApiRequest, goal_id: UUID, payload: GoalPatch) -> Any:
    actor = require(request, "pods.change")
    return goal_update(tenant=request.tenant, actor=actor,
                       goal=_goal(request, goal_id),
                       data=payload.model_dump(exclude_unset=True))
