"""Reads of journeys: lists, one journey, its stats, enrollments and their history, and the
enrollment inspector's look-ups (where is this person, what happened, what comes next)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found
from tend.marketing.models_journeys import (
    EnrollmentStatus,
    Journey,
    JourneyEnrollment,
    JourneyEnrollmentStep,
    JourneyStatus,
    JourneyStep,
    StepResult,
)


def journey_filters(params: Mapping[str, Any]) -> dict[str, str]:
    """The journey list's filters read from a query (the page's GET or the API's) the same
    way: `q` trimmed to 200 characters as `search`, `status` kept only when it is a
    JourneyStatus (an unknown one means none). Pass the result to `journey_list`."""
    status = str(params.get("status") or "")
    return {"search": str(params.get("q") or "").strip()[:200],
            "status": status if status in JourneyStatus.values else ""}


def journey_list(*, tenant: Tenant, search: str = "", status: str = "") -> QuerySet[Journey]:
    """The organization's journeys by name (archived ones only when asked for)."""
    qs = Journey.objects.filter(tenant=tenant)
    qs = qs.filter(status=status) if status else qs.exclude(status="ARCHIVED")
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name", "id")


def journey_get(*, tenant: Tenant, journey_id: Any) -> Journey:
    """One journey of `tenant`, or NotFound."""
    return one_or_not_found(Journey.objects.filter(tenant=tenant), journey_id,
                            _("No such journey."))


def journey_stats(*, tenant: Tenant, journey: Journey) -> dict[str, Any]:
    """Enrollments per status, and per step key (all versions together): how many passed
    it, how many are there now, how many failed there. Three grouped queries."""
    by_status = dict(JourneyEnrollment.objects.filter(tenant=tenant, journey=journey)
                     .values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    steps: dict[str, dict[str, int]] = {}
    for key, status, n in (JourneyEnrollmentStep.objects
                           .filter(tenant=tenant, enrollment__journey=journey)
                           .values_list("step_key", "status").annotate(n=Count("id"))
                           .values_list("step_key", "status", "n")):
        row = steps.setdefault(key, {"passed": 0, "here": 0, "failed": 0})
        if status == StepResult.FAILED:
            row["failed"] += n
        elif status != StepResult.WAITING:
            row["passed"] += n
    for key, n in (JourneyEnrollment.objects
                   .filter(tenant=tenant, journey=journey, status=EnrollmentStatus.ACTIVE)
                   .values_list("current_step__key").annotate(n=Count("id"))
                   .values_list("current_step__key", "n")):
        steps.setdefault(key or "", {"passed": 0, "here": 0, "failed": 0})["here"] += n
    return {
        "enrolled": sum(by_status.values()),
        "active": by_status.get(EnrollmentStatus.ACTIVE, 0),
        "completed": by_status.get(EnrollmentStatus.COMPLETED, 0),
        "exited": by_status.get(EnrollmentStatus.EXITED, 0),
        "failed": by_status.get(EnrollmentStatus.FAILED, 0),
        "steps": steps,
    }


def enrollment_filters(params: Mapping[str, Any]) -> dict[str, str]:
    """The enrollment list's filters from a query: `status` kept only when it is an
    EnrollmentStatus."""
    status = str(params.get("status") or "")
    return {"status": status if status in EnrollmentStatus.values else ""}


def enrollment_list(*, tenant: Tenant, journey: Journey | None = None, status: str = "",
                    contact_id: Any = None) -> QuerySet[JourneyEnrollment]:
    qs = JourneyEnrollment.objects.filter(tenant=tenant)
    if journey is not None:
        qs = qs.filter(journey=journey)
    if status:
        qs = qs.filter(status=status)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    return qs.select_related("contact", "journey", "current_step")


def enrollment_get(*, tenant: Tenant, enrollment_id: Any) -> JourneyEnrollment:
    return one_or_not_found(JourneyEnrollment.objects.filter(tenant=tenant)
                            .select_related("contact", "journey", "current_step"),
                            enrollment_id, _("No such enrollment."))


def enrollment_history(*, tenant: Tenant, enrollment: JourneyEnrollment
                       ) -> list[JourneyEnrollmentStep]:
    return list(JourneyEnrollmentStep.objects.filter(tenant=tenant, enrollment=enrollment)
                .select_related("step").order_by("seq"))


def contact_journeys(*, tenant: Tenant, contact_id: Any) -> list[dict[str, Any]]:
    """The inspector: each enrollment of the contact (newest first) with where it is, what
    happened (its history) and when its next step is due."""
    enrollments = list(enrollment_list(tenant=tenant, contact_id=contact_id)
                       .order_by("-enrolled_at")[:50])
    history: dict[Any, list[JourneyEnrollmentStep]] = {e.pk: [] for e in enrollments}
    for row in (JourneyEnrollmentStep.objects.filter(tenant=tenant, enrollment__in=enrollments)
                .select_related("step").order_by("seq")):
        history[row.enrollment_id].append(row)
    return [{"enrollment": e, "history": history[e.pk]} for e in enrollments]


def inspector_contacts(*, tenant: Tenant, search: str, limit: int = 20) -> list[Any]:
    """Contacts for the inspector's search: by name, email or phone."""
    from tend.people.models import Contact

    search = (search or "").strip()[:200]
    if not search:
        return []
    return list(Contact.objects.filter(tenant=tenant, merged_at__isnull=True).filter(
        Q(display_name__icontains=search) | Q(primary_email__icontains=search)
        | Q(primary_phone__icontains=search)).order_by("display_name", "id")[:limit])


def journey_versions(*, tenant: Tenant, journey: Journey) -> list[int]:
    return sorted(set(JourneyStep.objects.filter(tenant=tenant, journey=journey)
                      .values_list("version", flat=True)))
