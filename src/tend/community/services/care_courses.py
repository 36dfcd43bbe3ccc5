"""Courses, their lessons, and the lessons people received."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tend.community.models import Course, CourseLesson, CourseStatus, LessonProgress
from tend.community.services.care_summary import care_summary_refresh
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import Contact


def course_create(*, tenant: Tenant, actor: Actor, title: str, slug: str = "",
                  status: str = CourseStatus.DRAFT, min_interval_days: int = 0,
                  require_previous: bool = True, version: int = 1) -> Course:
    """Add a course. Needs `care.manage`."""
    check_perm(actor, "care.manage")
    title = (title or "").strip()
    slug = slugify(slug or title)[:80]
    errors: dict[str, list[str]] = {}
    if not title or len(title) > 200:
        errors["title"] = [_("Enter a title of 1 to 200 characters.")]
    if not slug:
        errors["slug"] = [_("Enter a slug (letters, digits, -).")]
    elif Course.objects.filter(tenant=tenant, slug=slug).exists():
        errors["slug"] = [_("A course with this slug exists.")]
    if status not in CourseStatus.values:
        errors["status"] = [_("Choose DRAFT or PUBLISHED.")]
    if not 0 <= min_interval_days <= 3650:
        errors["min_interval_days"] = [_("Enter a number of days from 0 to 3650.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        course = Course.objects.create(tenant=tenant, title=title, slug=slug, status=status,
                                       min_interval_days=min_interval_days, version=version,
                                       require_previous=require_previous,
                                       created_by=actor.user)
        audit_record(tenant=tenant, actor=actor, action="course.created", entity_type="course",
                     entity_id=course.pk)
    return course


def course_update(*, tenant: Tenant, actor: Actor, course: Course,
                  data: dict[str, Any]) -> Course:
    """Change a course's title, status or eligibility settings. Needs `care.manage`."""
    check_perm(actor, "care.manage")
    errors: dict[str, list[str]] = {}
    if "title" in data:
        title = (data["title"] or "").strip()
        if not title or len(title) > 200:
            errors["title"] = [_("Enter a title of 1 to 200 characters.")]
        course.title = title
    if "status" in data:
        if data["status"] not in CourseStatus.values:
            errors["status"] = [_("Choose DRAFT or PUBLISHED.")]
        course.status = data["status"]
    if "min_interval_days" in data:
        days = data["min_interval_days"]
        if not isinstance(days, int) or not 0 <= days <= 3650:
            errors["min_interval_days"] = [_("Enter a number of days from 0 to 3650.")]
        course.min_interval_days = days
    if "require_previous" in data:
        course.require_previous = bool(data["require_previous"])
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        course.save()
        audit_record(tenant=tenant, actor=actor, action="course.updated", entity_type="course",
                     entity_id=course.pk, changes={k: data[k] for k in sorted(data)})
        people = LessonProgress.objects.filter(tenant=tenant, lesson__course=course
                                               ).values_list("contact_id", flat=True)
        care_summary_refresh(tenant=tenant, contact_ids=set(people))
    return course


def lesson_add(*, tenant: Tenant, actor: Actor, course: Course, title: str,
               body_md: str = "", est_minutes: int | None = None, slug: str = "") -> CourseLesson:
    """Append a lesson to a course. Needs `care.manage`."""
    check_perm(actor, "care.manage")
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise ValidationFailed(fields={"title": [_("Enter a title of 1 to 200 characters.")]})
    with transaction.atomic():
        order = CourseLesson.objects.filter(tenant=tenant, course=course).count() + 1
        slug = slugify(slug or title)[:70] or f"lesson-{order}"
        if CourseLesson.objects.filter(tenant=tenant, course=course, slug=slug).exists():
            slug = f"{slug}-{order}"
        lesson = CourseLesson.objects.create(
            tenant=tenant, course=course, order=order, slug=slug, title=title, body_md=body_md,
            est_minutes=est_minutes, created_by=actor.user)
        audit_record(tenant=tenant, actor=actor, action="course.lesson_added",
                     entity_type="course", entity_id=course.pk, changes={"order": order})
    return lesson


def lesson_eligibility(*, tenant: Tenant, contact: Contact, lesson: CourseLesson,
                       now: datetime | None = None) -> list[str]:
    """Why `contact` may not receive `lesson` now (empty: eligible)."""
    now = now or timezone.now()
    course = lesson.course
    problems: list[str] = []
    received = dict(LessonProgress.objects.filter(
        tenant=tenant, contact=contact, lesson__course=course).values_list(
        "lesson__order", "received_at"))
    if lesson.order in received:
        problems.append(_("This lesson was already received."))
        return problems
    if course.require_previous and lesson.order > 1 and lesson.order - 1 not in received:
        problems.append(_("The previous lesson has not been received yet."))
    if received and course.min_interval_days:
        last = max(received.values())
        ready = last.timestamp() + course.min_interval_days * 86400
        if now.timestamp() < ready:
            problems.append(_("The minimum interval since the last lesson has not passed."))
    return problems


def lesson_record(*, tenant: Tenant, actor: Actor, contact: Contact, lesson: CourseLesson,
                  taught_by: Contact | None = None, received_at: datetime | None = None,
                  check: bool = True) -> LessonProgress:
    """Record that `contact` received `lesson`. With `check`, the course's eligibility
    settings must allow it (field errors otherwise). Needs `care.change`."""
    check_perm(actor, "care.change")
    received_at = received_at or timezone.now()
    if taught_by is not None and taught_by.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"taught_by_id": [
            _("Choose a contact of this organization.")]})
    if received_at > timezone.now():
        raise ValidationFailed(fields={"received_at": [_("Choose a time that is not in the "
                                                         "future.")]})
    with transaction.atomic():
        if check:
            problems = lesson_eligibility(tenant=tenant, contact=contact, lesson=lesson,
                                          now=received_at)
            if problems:
                raise ValidationFailed(problems[0], fields={"lesson_id": problems})
        elif LessonProgress.objects.filter(tenant=tenant, contact=contact,
                                           lesson=lesson).exists():
            raise ValidationFailed(fields={"lesson_id": [
                _("This lesson was already received.")]})
        progress = LessonProgress.objects.create(
            tenant=tenant, contact=contact, lesson=lesson, taught_by=taught_by,
            received_at=received_at, created_by=actor.user)
        audit_record(tenant=tenant, actor=actor, action="lesson.received",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"lesson": str(lesson.pk)})
        care_summary_refresh(tenant=tenant, contact_ids=[contact.pk])
    return progress
