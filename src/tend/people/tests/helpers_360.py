"""Helpers for the contact-page tests (notes, interactions, tasks, consent, timeline)."""

from __future__ import annotations

from tend.core.actors import Actor
from tend.core.models import Membership, Role, Tenant, User
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact


def member_actor(tenant: Tenant, user: User) -> Actor:
    """The actor of `user`'s membership in `tenant`, with its role's permissions."""
    with tenant_scope(tenant):
        membership = Membership.objects.select_related("role", "user").get(user=user)
    return Actor(kind="user", user=user, membership=membership,
                 permissions=membership.role.permission_set())


def add_member(tenant: Tenant, user: User, role_key: str) -> Membership:
    with tenant_scope(tenant):
        return Membership.objects.create(tenant=tenant, user=user,
                                         role=Role.objects.get(tenant=tenant, key=role_key))


def make_contact(tenant: Tenant, **fields) -> Contact:
    fields.setdefault("first_name", "Lina")
    fields.setdefault("last_name", "Haddad")
    fields.setdefault("display_name", f"{fields['first_name']} {fields['last_name']}".strip())
    with tenant_scope(tenant):
        return Contact.objects.create(tenant=tenant, **fields)
