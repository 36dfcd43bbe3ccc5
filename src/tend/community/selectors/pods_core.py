"""Reads of the pods part: pods, memberships, meetings, commitments, goals, matching runs."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tend.community.models import (
    Commitment,
    Goal,
    MatchingRun,
    Pod,
    PodMeeting,
    PodMembership,
    PodMembershipStatus,
)
from tend.core.errors import NotFound
from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found


def _get(model: Any, tenant: Tenant, pk: Any, *related: str) -> Any:
    return one_or_not_found(model.objects.filter(tenant=tenant).select_related(*related), pk,
                            str(NotFound.default_message))


def pod_list(*, tenant: Tenant, status: str | None = None) -> QuerySet[Pod]:
    qs = Pod.objects.filter(tenant=tenant)
    return qs.filter(status=status) if status else qs


def pod_get(*, tenant: Tenant, pod_id: Any) -> Pod:
    return _get(Pod, tenant, pod_id)  # type: ignore[no-any-return]


def pod_members(*, tenant: Tenant, pod: Pod, include_left: bool = False
                ) -> QuerySet[PodMembership]:
    qs = PodMembership.objects.filter(tenant=tenant, pod=pod).select_related("contact")
    if not include_left:
        qs = qs.exclude(status=PodMembershipStatus.LEFT)
    return qs.order_by("joined_at", "id")


def membership_get(*, tenant: Tenant, membership_id: Any) -> PodMembership:
    return _get(PodMembership, tenant, membership_id, "contact")  # type: ignore[no-any-return]


def meeting_list(*, tenant: Tenant, pod: Pod) -> QuerySet[PodMeeting]:
    return PodMeeting.objects.filter(tenant=tenant, pod=pod)


def meeting_get(*, tenant: Tenant, meeting_id: Any) -> PodMeeting:
    return _get(PodMeeting, tenant, meeting_id, "pod")  # type: ignore[no-any-return]


def commitment_list(*, tenant: Tenant, contact: Any = None,
                    status: str | None = None) -> QuerySet[Commitment]:
    qs = Commitment.objects.filter(tenant=tenant).select_related("contact")
    if contact is not None:
        qs = qs.filter(contact=contact)
    return qs.filter(status=status) if status else qs


def commitment_get(*, tenant: Tenant, commitment_id: Any) -> Commitment:
    return _get(Commitment, tenant, commitment_id, "contact")  # type: ignore[no-any-return]


def goal_get(*, tenant: Tenant, goal_id: Any) -> Goal:
    return _get(Goal, tenant, goal_id)  # type: ignore[no-any-return]


def run_get(*, tenant: Tenant, run_id: Any) -> MatchingRun:
    return _get(MatchingRun, tenant, run_id)  # type: ignore[no-any-return]


def goal_list(*, tenant: Tenant, contact: Any) -> QuerySet[Goal]:
    return Goal.objects.filter(tenant=tenant, contact=contact).order_by("-created_at")


def run_latest(*, tenant: Tenant) -> MatchingRun | None:
    return MatchingRun.objects.filter(tenant=tenant).order_by("-created_at").first()
