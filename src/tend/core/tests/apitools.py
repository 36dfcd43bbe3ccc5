"""Helpers for API tests: members with a role, API keys, and signed-in clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.test import Client

from tend.core.models import ApiKey, Membership, Role, Tenant, User
from tend.core.selectors.access import actor_for_membership
from tend.core.services.apikeys import apikey_create
from tend.core.tenancy import system_scope, tenant_scope


def add_member(tenant: Tenant, user: User, role: str = "viewer", **fields: Any) -> Membership:
    """Test set-up: give `user` a membership with the built-in or custom role `role`."""
    with tenant_scope(tenant):
        return Membership.objects.create(
            tenant=tenant, user=user, role=Role.objects.get(key=role), **fields
        )


def membership_of(tenant: Tenant, user: User) -> Membership:
    with system_scope():
        return Membership.objects.select_related("role", "tenant", "user").get(
            tenant=tenant, user=user
        )


def make_key(tenant: Tenant, user: User, permissions: list[str], *, name: str = "test key",
             expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """An API key made by `user` (a current member of `tenant`) through the real service."""
    actor = actor_for_membership(membership_of(tenant, user))
    with tenant_scope(tenant):
        return apikey_create(tenant=tenant, actor=actor, name=name, permissions=permissions,
                             expires_at=expires_at)


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def signed_in(user: User, tenant: Tenant | None = None, **client_kw: Any) -> Client:
    """A client with `user` signed in and, if given, `tenant` as the current organization."""
    client = Client(**client_kw)
    client.force_login(user)
    if tenant is not None:
        session = client.session
        session["tend_current_org"] = tenant.slug
        session.save()
    return client
