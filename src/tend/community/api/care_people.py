"""A person's care records: traits, mentors, initiations, lessons received and practice; a
staff member's own mentees."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.community.models import Regularity
from tend.community.selectors.care_people import (
    contact_initiations,
    contact_lessons,
    contact_practice_history,
    contact_traits,
    lesson_get,
    mentor_link_get,
    mentor_links,
    trait_get,
)
from tend.community.services.care_courses import lesson_record
from tend.community.services.care_mentors import (
    initiation_record,
    mentor_link_create,
    mentor_link_end,
    staff_contact_id,
    trait_grant,
    trait_revoke,
)
from tend.community.services.care_practice import practice_update
from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.people.api._contact_page import contact_in_body, contact_of
from tend.people.models import Contact

router = Router(tags=["Care"])


class TraitOut(Schema):
    id: UUID
    contact_id: UUID
    trait: str
    granted_at: datetime
    expires_at: datetime | None


class TraitIn(Schema):
    model_config = ConfigDict(extra="forbid")

    trait: str = Field(max_length=50)
    expires_at: datetime | None = None


class MentorLinkOut(Schema):
    id: UUID
    mentor_id: UUID
    mentor_name: str
    mentee_id: UUID
    mentee_name: str
    active: bool
    started_at: datetime
    ended_at: datetime | None
    last_contact_at: datetime | None

    @staticmethod
    def resolve_mentor_name(obj: Any) -> str:
        return str(obj.mentor)

    @staticmethod
    def resolve_mentee_name(obj: Any) -> str:
        return str(obj.mentee)


class MentorLinkIn(Schema):
    model_config = ConfigDict(extra="forbid")

    mentor_id: UUID
    mentee_id: UUID


class InitiationOut(Schema):
    id: UUID
    contact_id: UUID
    kind: str
    acarya_id: UUID | None
    date: date
    place: str
    notes: str


class InitiationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=40)
    date: date
    acarya_id: UUID | None = None
    place: str = Field("", max_length=200)
    notes: str = Field("", max_length=5000)


class ProgressOut(Schema):
    id: UUID
    contact_id: UUID
    lesson_id: UUID
    course_id: UUID
    order: int
    title: str
    received_at: datetime
    taught_by_id: UUID | None

    @staticmethod
    def resolve_course_id(obj: Any) -> Any:
        return obj.lesson.course_id

    @staticmethod
    def resolve_order(obj: Any) -> int:
        return int(obj.lesson.order)

    @staticmethod
    def resolve_title(obj: Any) -> str:
        return str(obj.lesson.title)


class ProgressIn(Schema):
    model_config = ConfigDict(extra="forbid")

    lesson_id: UUID
    taught_by_id: UUID | None = None
    received_at: datetime | None = None
    check_eligibility: bool = True


class PracticeOut(Schema):
    id: UUID
    contact_id: UUID
    regularity: str
    notes: str
    source: str
    recorded_at: datetime


class PracticeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    regularity: Regularity
    notes: str = Field("", max_length=2000)


def _own_contact(request: ApiRequest, actor: Any) -> Contact | None:
    own_id = staff_contact_id(tenant=request.tenant,
                              user_id=getattr(actor.acting_user, "pk", None))
    return Contact.objects.filter(tenant=request.tenant, pk=own_id).first() if own_id else None


@router.get("/contacts/{contact_id}/traits", response=list[TraitOut])
def traits_list(request: ApiRequest, contact_id: UUID) -> Any:
    require(request, "units.view")
    return list(contact_traits(tenant=request.tenant, contact=contact_of(request, contact_id)))


@router.post("/contacts/{contact_id}/traits", response={201: TraitOut})
def traits_grant(request: ApiRequest, contact_id: UUID, payload: TraitIn) -> Any:
    """Grant a trait (mentor, acarya, facilitator…), optionally expiring. Needs
    `care.change`."""
    actor = require(request, "care.change")
    return Status(201, trait_grant(tenant=request.tenant, actor=actor,
                                   contact=contact_of(request, contact_id),
                                   trait=payload.trait, expires_at=payload.expires_at))


@router.delete("/community/traits/{trait_id}", response={204: None})
def traits_revoke(request: ApiRequest, trait_id: UUID) -> Any:
    actor = require(request, "care.change")
    trait_revoke(tenant=request.tenant, actor=actor,
                 trait=trait_get(tenant=request.tenant, trait_id=trait_id))
    return Status(204, None)


@router.get("/contacts/{contact_id}/mentors", response=list[MentorLinkOut])
def mentors_of(request: ApiRequest, contact_id: UUID) -> Any:
    """The person's active mentor links as mentee and as mentor. Needs `care.view`."""
    actor = require(request, "care.view")
    contact = contact_of(request, contact_id)
    return [*mentor_links(tenant=request.tenant, mentee=contact, actor=actor),
            *mentor_links(tenant=request.tenant, mentor=contact, actor=actor)]


@router.post("/community/mentor-links", response={201: MentorLinkOut})
def mentor_links_create(request: ApiRequest, payload: MentorLinkIn) -> Any:
    actor = require(request, "care.change")
    mentor = contact_in_body(request, payload.mentor_id, "mentor_id")
    mentee = contact_in_body(request, payload.mentee_id, "mentee_id")
    return Status(201, mentor_link_create(tenant=request.tenant, actor=actor,
                                          mentor=mentor, mentee=mentee))  # type: ignore[arg-type]


@router.post("/community/mentor-links/{link_id}/end", response=MentorLinkOut)
def mentor_links_end(request: ApiRequest, link_id: UUID) -> Any:
    actor = require(request, "care.change")
    return mentor_link_end(tenant=request.tenant, actor=actor,
                           link=mentor_link_get(tenant=request.tenant, link_id=link_id))


@router.get("/community/my-mentees", response=Page[MentorLinkOut])
def my_mentees(request: ApiRequest, page: Query[PageParams]) -> Any:
    """The caller's own mentees (the caller's staff account linked to a contact by a
    staff-account identity). Needs `care.view`."""
    actor = require(request, "care.view")
    own = _own_contact(request, actor)
    if own is None:
        return {"items": [], "next_cursor": None}
    return paginate(mentor_links(tenant=request.tenant, mentor=own, actor=actor), page,
                    ordering=("id",))


@router.get("/contacts/{contact_id}/initiations", response=list[InitiationOut])
def initiations_list(request: ApiRequest, contact_id: UUID) -> Any:
    require(request, "care.view")
    return list(contact_initiations(tenant=request.tenant,
                                    contact=contact_of(request, contact_id)))


@router.post("/contacts/{contact_id}/initiations", response={201: InitiationOut})
def initiations_create(request: ApiRequest, contact_id: UUID, payload: InitiationIn) -> Any:
    actor = require(request, "care.change")
    contact = contact_of(request, contact_id)
    acarya = contact_in_body(request, payload.acarya_id, "acarya_id")
    return Status(201, initiation_record(
        tenant=request.tenant, actor=actor, contact=contact, kind=payload.kind,
        date=payload.date, acarya=acarya, place=payload.place, notes=payload.notes))


@router.get("/contacts/{contact_id}/lessons", response=list[ProgressOut])
def lessons_list(request: ApiRequest, contact_id: UUID) -> Any:
    require(request, "care.view")
    return list(contact_lessons(tenant=request.tenant, contact=contact_of(request, contact_id)))


@router.post("/contacts/{contact_id}/lessons", response={201: ProgressOut})
def lessons_record(request: ApiRequest, contact_id: UUID, payload: ProgressIn) -> Any:
    """Record a received lesson; the course's eligibility settings apply unless
    `check_eligibility` is false. Needs `care.change`."""
    actor = require(request, "care.change")
    contact = contact_of(request, contact_id)
    try:
        lesson = lesson_get(tenant=request.tenant, lesson_id=payload.lesson_id)
    except NotFound:
        raise ValidationFailed(fields={"lesson_id": ["Choose a lesson of this organization."]}
                               ) from None
    taught_by = contact_in_body(request, payload.taught_by_id, "taught_by_id")
    return Status(201, lesson_record(
        tenant=request.tenant, actor=actor, contact=contact, lesson=lesson,
        taught_by=taught_by, received_at=payload.received_at,
        check=payload.check_eligibility))


@router.get("/contacts/{contact_id}/practice", response=Page[PracticeOut])
def practice_history(request: ApiRequest, contact_id: UUID, page: Query[PageParams]) -> Any:
    """The person's practice statuses, newest first. Needs `care.view`."""
    require(request, "care.view")
    contact = contact_of(request, contact_id)
    return paginate(contact_practice_history(tenant=request.tenant, contact=contact), page,
                    ordering=("-recorded_at", "-id"))


@router.post("/contacts/{contact_id}/practice", response={201: PracticeOut})
def practice_set(request: ApiRequest, contact_id: UUID, payload: PracticeIn) -> Any:
    actor = require(request, "care.change")
    contact = contact_of(request, contact_id)
    practice_update(tenant=request.tenant, actor=actor, contact=contact,
                    regularity=payload.regularity, notes=payload.notes)
    return Status(201, contact_practice_history(tenant=request.tenant, contact=contact).first())
