"""Journeys and sequences: CRUD, steps (a new version while enrollments run), validation per
step, activate / pause / archive, enrollment by hand, stats, enrollments with their history,
and a contact's journeys (the inspector)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.marketing.selectors.journeys import (
    contact_journeys,
    enrollment_filters,
    enrollment_get,
    enrollment_history,
    enrollment_list,
    journey_filters,
    journey_get,
    journey_list,
    journey_stats,
)
from tend.marketing.services.journeys import (
    enrollment_exit,
    journey_activate,
    journey_archive,
    journey_create,
    journey_enroll_many,
    journey_pause,
    journey_problems,
    journey_set_steps,
    journey_steps,
    journey_update,
    sequence_items,
    sequence_set,
    step_dicts,
)
from tend.people.selectors.contacts import contact_get

router = Router(tags=["Journeys"])


class StepIO(Schema):
    key: str = Field(max_length=40)
    type: str = Field(description="TRIGGER, SEND, WAIT, CONDITION, SPLIT, UPDATE, CREATE_TASK, "
                                  "WEBHOOK or END")
    name: str = Field("", max_length=200)
    config: dict[str, Any] = Field(default_factory=dict,
                                   description="Depends on the type; see docs/journeys.md.")
    next: str = Field("", max_length=40)
    yes: str = Field("", max_length=40, description="CONDITION: where a match goes.")
    no: str = Field("", max_length=40, description="CONDITION: where a miss goes.")


class JourneyOut(Schema):
    id: UUID
    name: str
    description: str
    kind: str = Field(description="JOURNEY or SEQUENCE")
    status: str = Field(description="DRAFT, ACTIVE, PAUSED or ARCHIVED")
    version: int
    time_zone: str
    trigger_type: str = Field(description="MANUAL, ACTIVITY, SEGMENT_ENTERED, SEGMENT_LEFT "
                                          "or DATE")
    trigger_config: dict[str, Any]
    allow_reentry: bool
    max_enrollments: int | None
    total_enrolled: int
    total_completed: int
    total_exited: int
    total_failed: int
    activated_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class JourneyDetailOut(JourneyOut):
    steps: list[StepIO]


class JourneyFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    time_zone: str | None = Field(None, max_length=64)
    trigger_type: str | None = None
    trigger_config: dict[str, Any] | None = Field(
        None, description="ACTIVITY {activity_type, conditions}; SEGMENT_* {segment_id}; "
                          "DATE {field, days_before, annual, at}.")
    allow_reentry: bool | None = None
    max_enrollments: int | None = None


class JourneyIn(JourneyFields):
    name: str = Field(max_length=200)
    kind: str = Field("JOURNEY", description="JOURNEY or SEQUENCE")
    steps: list[StepIO] | None = Field(None, max_length=200)


class StepsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    steps: list[StepIO] = Field(max_length=200)


class SequenceItem(Schema):
    channel: str
    template: str = Field(max_length=100)
    after: str = Field(max_length=40, description="Time since enrollment, e.g. “24 hours”.")


class SequenceIO(Schema):
    model_config = ConfigDict(extra="forbid")

    items: list[SequenceItem] = Field(max_length=20)


class ValidationOut(Schema):
    valid: bool
    problems: dict[str, list[str]] = Field(
        description="Per step key (and `journey` for the whole journey).")


class StepStats(Schema):
    passed: int
    here: int
    failed: int


class StatsOut(Schema):
    enrolled: int
    active: int
    completed: int
    exited: int
    failed: int
    steps: dict[str, StepStats]


class ContactRef(Schema):
    id: UUID
    display_name: str


class EnrollmentOut(Schema):
    id: UUID
    journey_id: UUID
    version: int
    contact: ContactRef
    status: str = Field(description="ACTIVE, COMPLETED, EXITED or FAILED")
    current_step_key: str | None = Field(None, description="The key of the step it is on.")
    waiting_until: dt.datetime | None
    enrolled_at: dt.datetime
    completed_at: dt.datetime | None
    exited_at: dt.datetime | None
    exit_reason: str


class HistoryOut(Schema):
    seq: int
    step_key: str
    step_type: str
    status: str
    result: dict[str, Any]
    entered_at: dt.datetime
    completed_at: dt.datetime | None


class EnrollmentDetailOut(EnrollmentOut):
    history: list[HistoryOut]


class EnrollIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_ids: list[UUID] = Field(max_length=10_000)


class EnrolledOut(Schema):
    enrolled: int
    enrollment_ids: list[UUID]


class ExitIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


class JourneyFilter(Schema):
    q: str | None = Field(None, max_length=200)
    status: str | None = None


class EnrollmentFilter(Schema):
    status: str | None = None


def _detail(request: ApiRequest, journey: Any) -> dict[str, Any]:
    data = JourneyOut.from_orm(journey).model_dump()
    data["steps"] = step_dicts(journey_steps(tenant=request.tenant, journey=journey))
    return data


@router.get("/journeys", response=Page[JourneyOut])
def journeys_list(request: ApiRequest, page: Query[PageParams], filters: Query[JourneyFilter]):
    """The organization's journeys (archived ones with `status=ARCHIVED`). Needs
    `journeys.view`."""
    require(request, "journeys.view")
    return paginate(journey_list(tenant=request.tenant, **journey_filters(filters.dict())),
                    page, ordering=("name", "id"))


@router.post("/journeys", response={201: JourneyDetailOut})
def journeys_create(request: ApiRequest, payload: JourneyIn):
    """Create a DRAFT journey or sequence, with its steps when given (else a trigger and an
    end). Needs `journeys.add`."""
    actor = require(request, "journeys.add")
    data = payload.model_dump(exclude_unset=True)
    data.setdefault("kind", payload.kind)
    journey = journey_create(tenant=request.tenant, actor=actor, data=data)
    return Status(201, _detail(request, journey))


@router.get("/journeys/{journey_id}", response=JourneyDetailOut)
def journeys_get(request: ApiRequest, journey_id: UUID):
    """One journey with the steps of its current version. Needs `journeys.view`."""
    require(request, "journeys.view")
    return _detail(request, journey_get(tenant=request.tenant, journey_id=journey_id))


@router.patch("/journeys/{journey_id}", response=JourneyDetailOut)
def journeys_update(request: ApiRequest, journey_id: UUID, payload: JourneyFields):
    """Change the fields sent. Needs `journeys.change`."""
    actor = require(request, "journeys.change")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    journey = journey_update(tenant=request.tenant, actor=actor, journey=journey,
                             data=payload.model_dump(exclude_unset=True))
    return _detail(request, journey)


@router.put("/journeys/{journey_id}/steps", response=JourneyDetailOut)
def journeys_steps_set(request: ApiRequest, journey_id: UUID, payload: StepsIn):
    """Replace the steps. While enrollments exist this makes a new version (running ones keep
    theirs); a running journey's new steps must pass validation. Needs `journeys.change`."""
    actor = require(request, "journeys.change")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    journey = journey_set_steps(tenant=request.tenant, actor=actor, journey=journey,
                                steps=[s.model_dump() for s in payload.steps])
    return _detail(request, journey)


@router.get("/journeys/{journey_id}/sequence", response=SequenceIO)
def journeys_sequence_get(request: ApiRequest, journey_id: UUID):
    """A linear journey's messages as sequence rows. Needs `journeys.view`."""
    require(request, "journeys.view")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    return {"items": sequence_items(journey_steps(tenant=request.tenant, journey=journey))}


@router.put("/journeys/{journey_id}/sequence", response=JourneyDetailOut)
def journeys_sequence_set(request: ApiRequest, journey_id: UUID, payload: SequenceIO):
    """Replace the journey's steps by a sequence: each message after a time since
    enrollment. Needs `journeys.change`."""
    actor = require(request, "journeys.change")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    journey = sequence_set(tenant=request.tenant, actor=actor, journey=journey,
                           items=[i.model_dump() for i in payload.items])
    return _detail(request, journey)


@router.post("/journeys/{journey_id}/validate", response=ValidationOut)
def journeys_validate(request: ApiRequest, journey_id: UUID):
    """What stops the journey from running, per step. Needs `journeys.view`."""
    require(request, "journeys.view")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    problems = journey_problems(tenant=request.tenant, journey=journey)
    return {"valid": not problems, "problems": problems}


@router.post("/journeys/{journey_id}/activate", response=JourneyDetailOut)
def journeys_activate(request: ApiRequest, journey_id: UUID):
    """Start or resume; 422 with the problems per step (`steps.<key>`) when it cannot run.
    Needs `journeys.change`."""
    actor = require(request, "journeys.change")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    return _detail(request, journey_activate(tenant=request.tenant, actor=actor,
                                             journey=journey))


@router.post("/journeys/{journey_id}/pause", response=JourneyDetailOut)
def journeys_pause(request: ApiRequest, journey_id: UUID):
    """Stop enrolling and advancing (enrollments keep their place). Needs `journeys.change`."""
    actor = require(request, "journeys.change")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    return _detail(request, journey_pause(tenant=request.tenant, actor=actor, journey=journey))


@router.post("/journeys/{journey_id}/archive", response=JourneyDetailOut)
def journeys_archive(request: ApiRequest, journey_id: UUID):
    """Retire the journey; its active enrollments exit. Needs `journeys.delete`."""
    actor = require(request, "journeys.delete")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    return _detail(request, journey_archive(tenant=request.tenant, actor=actor,
                                            journey=journey))


@router.get("/journeys/{journey_id}/stats", response=StatsOut)
def journeys_stats(request: ApiRequest, journey_id: UUID):
    """Enrollments per status and per step (passed, there now, failed). Needs
    `journeys.view`."""
    require(request, "journeys.view")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    return journey_stats(tenant=request.tenant, journey=journey)


@router.get("/journeys/{journey_id}/enrollments", response=Page[EnrollmentOut])
def journeys_enrollments(request: ApiRequest, journey_id: UUID, page: Query[PageParams],
                         filters: Query[EnrollmentFilter]):
    """The journey's enrollments, newest first. Needs `journeys.view` and `contacts.view`."""
    require(request, "journeys.view", "contacts.view")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    qs = enrollment_list(tenant=request.tenant, journey=journey,
                         **enrollment_filters(filters.dict()))
    return paginate(qs, page, ordering=("-enrolled_at", "-id"))


@router.post("/journeys/{journey_id}/enrollments", response=EnrolledOut)
def journeys_enroll(request: ApiRequest, journey_id: UUID, payload: EnrollIn):
    """Enroll contacts in an active journey; ones that cannot be (already on it, not live,
    over the limit, another organization's) are skipped. Needs `journeys.send`."""
    actor = require(request, "journeys.send")
    journey = journey_get(tenant=request.tenant, journey_id=journey_id)
    if journey.status != "ACTIVE":
        from django.utils.translation import gettext as _

        from tend.core.errors import ValidationFailed

        raise ValidationFailed(fields={"journey": [_("Activate the journey first.")]})
    rows = journey_enroll_many(tenant=request.tenant, actor=actor, journey=journey,
                               contact_ids=payload.contact_ids)
    return {"enrolled": len(rows), "enrollment_ids": [r.pk for r in rows]}


@router.get("/journey-enrollments/{enrollment_id}", response=EnrollmentDetailOut)
def enrollments_get(request: ApiRequest, enrollment_id: UUID):
    """One enrollment with its history. Needs `journeys.view` and `contacts.view`."""
    require(request, "journeys.view", "contacts.view")
    enrollment = enrollment_get(tenant=request.tenant, enrollment_id=enrollment_id)
    data = EnrollmentOut.from_orm(enrollment).model_dump()
    data["history"] = enrollment_history(tenant=request.tenant, enrollment=enrollment)
    return data


@router.post("/journey-enrollments/{enrollment_id}/exit", response=EnrollmentOut)
def enrollments_exit(request: ApiRequest, enrollment_id: UUID, payload: ExitIn):
    """Take the contact out of the journey now. Needs `journeys.send`."""
    actor = require(request, "journeys.send")
    enrollment = enrollment_get(tenant=request.tenant, enrollment_id=enrollment_id)
    return enrollment_exit(tenant=request.tenant, actor=actor, enrollment=enrollment,
                           reason=payload.reason)


@router.get("/contacts/{contact_id}/journeys", response=list[EnrollmentDetailOut])
def contact_journeys_list(request: ApiRequest, contact_id: UUID):
    """The inspector: every journey the contact is or was on, where they are, what happened
    and when the next step is due. Needs `journeys.view` and `contacts.view`."""
    require(request, "journeys.view", "contacts.view")
    contact = contact_get(tenant=request.tenant, contact_id=contact_id)
    out = []
    for item in contact_journeys(tenant=request.tenant, contact_id=contact.pk):
        data = EnrollmentOut.from_orm(item["enrollment"]).model_dump()
        data["history"] = item["history"]
        out.append(data)
    return out
