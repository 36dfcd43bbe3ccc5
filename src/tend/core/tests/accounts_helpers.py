"""Helpers for tests of members, invitations, roles and the pages around them."""

from __future__ import annotations

from typing import Any

from tend.core.actors import Actor
from tend.core.models import Membership, Role, Tenant, User
from tend.core.selectors.access import actor_for_membership
from tend.core.tenancy import tenant_scope


def role_of(tenant: Tenant, key: str) -> Role:
    with tenant_scope(tenant):
        return Role.objects.get(tenant=tenant, key=key)


def add_member(tenant: Tenant, user: User, role_key: str = "viewer", **extra: Any) -> Membership:
    """Set up a membership directly (test arrangement, not the code under test)."""
    with tenant_scope(tenant):
        role = Role.objects.get(tenant=tenant, key=role_key)
        membership = Membership.objects.create(tenant=tenant, user=user, role=role, **extra)
        return Membership.objects.select_related("user", "role").get(pk=membership.pk)


def membership_of(tenant: Tenant, user: User) -> Membership:
    with tenant_scope(tenant):
        return Membership.objects.select_related("user", "role", "tenant").get(
            tenant=tenant, user=user
        )


def actor_of(tenant: Tenant, user: User) -> Actor:
    return actor_for_membership(membership_of(tenant, user))
