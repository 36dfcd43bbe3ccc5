"""Who may act where: memberships and effective permissions."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import Membership, User


def _current_q() -> Q:
    return Q(is_active=True, tenant__is_active=True) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def memberships_for_user(*, user: User) -> list[Membership]:
    """The organizations `user` can enter now. Call under `system_scope()`."""
    if not user.is_active:
        return []
    return list(
        Membership.objects.filter(_current_q(), user=user)
        .select_related("tenant", "role")
        .order_by("tenant__name")
    )


def membership_for(*, user: Any, org_slug: str) -> Membership | None:
    """`user`'s current membership in the organization `org_slug`, or None. Call under
    `system_scope()`."""
    if not getattr(user, "is_active", False):
        return None
    return (
        Membership.objects.filter(_current_q(), user=user, tenant__slug=org_slug)
        .select_related("tenant", "role")
        .first()
    )


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def actor_for_membership(membership: Membership, *, ip: str | None = None,
                         user_agent: str = "") -> Actor:
    return Actor(
        kind="user",
        user=membership.user,
        membership=membership,
        permissions=membership.role.permission_set(),
        ip=ip,
        user_agent=user_agent,
    )


def actor_for_request(request: HttpRequest, membership: Membership) -> Actor:
    return actor_for_membership(
        membership,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
