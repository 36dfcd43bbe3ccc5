"""Reading a person's care records: traits, mentors and mentees, initiations, lessons and
practice; and a mentor's mentees."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import (
    CareSummary,
    Course,
    CourseLesson,
    Initiation,
    LessonProgress,
    MentorLink,
    PracticeChange,
    UserTrait,
)
from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found
from tend.people.models import Contact


def contact_traits(*, tenant: Tenant, contact: Contact) -> QuerySet[UserTrait]:
    """The person's current (not expired) traits."""
    return UserTrait.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
                                    tenant=tenant, contact=contact).order_by("trait")


def trait_get(*, tenant: Tenant, trait_id: Any) -> UserTrait:
    return one_or_not_found(UserTrait.objects.filter(tenant=tenant), trait_id, _("No such trait."))


def mentor_links(*, tenant: Tenant, mentor: Contact | None = None,
                 mentee: Contact | None = None, active_only: bool = True,
                 actor: Any = None) -> QuerySet[MentorLink]:
    """Mentor links (with both contacts) of a mentor or a mentee, newest first; given
    `actor`, only links whose both sides the actor may see (unit-scoped staff)."""
    from tend.people.visibility import contact_scope_filter

    qs = MentorLink.objects.filter(tenant=tenant).select_related("mentor", "mentee")
    for side in ("mentor", "mentee"):
        scope = contact_scope_filter(tenant=tenant, actor=actor, field=side)
        if scope is not None:
            qs = qs.filter(scope)
    if mentor is not None:
        qs = qs.filter(mentor=mentor)
    if mentee is not None:
        qs = qs.filter(mentee=mentee)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("-started_at", "-id")


def mentor_link_get(*, tenant: Tenant, link_id: Any) -> MentorLink:
    return one_or_not_found(
        MentorLink.objects.filter(tenant=tenant).select_related("mentor", "mentee"),
        link_id, _("No such mentorship."))


def contact_initiations(*, tenant: Tenant, contact: Contact) -> QuerySet[Initiation]:
    return Initiation.objects.filter(tenant=tenant, contact=contact).select_related(
        "acarya").order_by("date", "id")


def contact_lessons(*, tenant: Tenant, contact: Contact) -> QuerySet[LessonProgress]:
    return LessonProgress.objects.filter(tenant=tenant, contact=contact).select_related(
        "lesson", "lesson__course", "taught_by").order_by("received_at", "id")


def contact_practice_history(*, tenant: Tenant, contact: Contact) -> QuerySet[PracticeChange]:
    return PracticeChange.objects.filter(tenant=tenant, contact=contact).order_by(
        "-recorded_at", "-id")


def contact_summary(*, tenant: Tenant, contact: Contact) -> CareSummary | None:
    return CareSummary.objects.filter(tenant=tenant, contact=contact).first()


def course_list(*, tenant: Tenant) -> QuerySet[Course]:
    return Course.objects.filter(tenant=tenant).order_by("title", "id")


def course_get(*, tenant: Tenant, course_id: Any) -> Course:
    return one_or_not_found(Course.objects.filter(tenant=tenant), course_id, _("No such course."))


def course_lessons(*, tenant: Tenant, course: Course) -> QuerySet[CourseLesson]:
    return CourseLesson.objects.filter(tenant=tenant, course=course).order_by("order")


def lesson_get(*, tenant: Tenant, lesson_id: Any) -> CourseLesson:
    return one_or_not_found(
        CourseLesson.objects.filter(tenant=tenant).select_related("course"),
        lesson_id, _("No such lesson."))
