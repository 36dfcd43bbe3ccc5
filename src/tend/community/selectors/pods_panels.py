"""Contact-page panel of the pods part: the person's pods, streak and totals, open
commitments and goals. Four queries."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from tend.community.models import (
    Commitment,
    CommitmentStatus,
    Goal,
    GoalStatus,
    PodMembership,
    PodMembershipStatus,
    PodsProfile,
)
from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.people.models import Contact

ROWS = 5


def pods_context(*, tenant: Tenant, actor: Actor, contact: Contact) -> dict[str, Any] | None:
    return {
        "profile": PodsProfile.objects.filter(tenant=tenant, contact=contact).first(),
        "memberships": list(PodMembership.objects.filter(
            tenant=tenant, contact=contact).exclude(status=PodMembershipStatus.LEFT)
            .select_related("pod")),
        "commitments": list(Commitment.objects.filter(
            tenant=tenant, contact=contact, status=CommitmentStatus.ACTIVE)[:ROWS]),
        "goals": list(Goal.objects.filter(tenant=tenant, contact=contact,
                                          status=GoalStatus.ACTIVE)[:ROWS]),
    }


def register() -> None:
    from tend.people.panels import register_contact_panel

    register_contact_panel("community.pods", _("Pods and commitments"),
                           "community/partials/pods_panel.html", pods_context,
                           permission="pods.view", order=430)
