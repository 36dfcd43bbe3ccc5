"""The per-person care summary (`CareSummary`) that rules and attention lists read: rebuilt
from the source rows after every change that touches them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max
from django.db.models.functions import Coalesce

from tend.community.models import (
    CareSummary,
    Course,
    CourseLesson,
    LessonProgress,
    MentorLink,
    PracticeStatus,
)
from tend.core.models import Tenant


def next_lesson_at(courses: dict[Any, Course], totals: dict[Any, int],
                   received: dict[Any, list[datetime]]) -> datetime | None:
    """When the next lesson becomes allowed: per started, unfinished course, the last lesson
    plus the course's minimum interval; the earliest of those (None when nothing is left)."""
    candidates = []
    for course_id, times in received.items():
        course = courses.get(course_id)
        if course is None or len(times) >= totals.get(course_id, 0):
            continue
        candidates.append(max(times) + timedelta(days=course.min_interval_days))
    return min(candidates) if candidates else None


def care_summary_refresh(*, tenant: Tenant, contact_ids: Iterable[Any]) -> None:
    """Rebuild the summaries of `contact_ids` (a handful of queries whatever their number)."""
    ids = list({cid for cid in contact_ids if cid is not None})
    if not ids:
        return
    regularity = dict(PracticeStatus.objects.filter(tenant=tenant, contact_id__in=ids)
                      .values_list("contact_id", "regularity"))
    contact_at = dict(
        MentorLink.objects.filter(tenant=tenant, mentee_id__in=ids, active=True)
        .values("mentee_id").annotate(at=Max(Coalesce("last_contact_at", "started_at")))
        .values_list("mentee_id", "at").order_by())
    received: dict[Any, dict[Any, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for contact_id, course_id, at in LessonProgress.objects.filter(
            tenant=tenant, contact_id__in=ids).values_list(
            "contact_id", "lesson__course_id", "received_at"):
        received[contact_id][course_id].append(at)
    course_ids = {c for per in received.values() for c in per}
    courses = {c.pk: c for c in Course.objects.filter(tenant=tenant, pk__in=course_ids)}
    totals: dict[Any, int] = defaultdict(int)
    for course_id in CourseLesson.objects.filter(tenant=tenant, course_id__in=course_ids
                                                 ).values_list("course_id", flat=True):
        totals[course_id] += 1
    existing = {s.contact_id: s for s in CareSummary.objects.filter(tenant=tenant,
                                                                     contact_id__in=ids)}
    create, update = [], []
    for contact_id in ids:
        per_course = received.get(contact_id, {})
        times = [t for ts in per_course.values() for t in ts]
        values = {
            "regularity": regularity.get(contact_id, ""),
            "mentor_contact_at": contact_at.get(contact_id),
            "lessons_received": len(times),
            "last_lesson_at": max(times) if times else None,
            "next_lesson_at": next_lesson_at(courses, totals, per_course),
        }
        summary = existing.get(contact_id)
        if summary is None:
            create.append(CareSummary(tenant=tenant, contact_id=contact_id, **values))
        else:
            for key, value in values.items():
                setattr(summary, key, value)
            update.append(summary)
    CareSummary.objects.bulk_create(create)
    if update:
        CareSummary.objects.bulk_update(update, ["regularity", "mentor_contact_at",
                                                 "lessons_received", "last_lesson_at",
                                                 "next_lesson_at"])
