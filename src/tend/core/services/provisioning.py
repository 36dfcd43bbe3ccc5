"""Operator provisioning: giving an account a role in an organization directly, without the
invitation round trip. Used by `tend createuser --tenant` and by demo data; people in the UI
use invitations."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Membership, Role, Tenant, User
from tend.core.services.audit import audit_record


def member_grant(*, tenant: Tenant, actor: Actor, user: User, role_key: str,
                 expires_at: datetime | None = None) -> Membership:
    """Make `user` a member of `tenant` with the role `role_key` (built-in or custom).

    For operators and system code (the actor is usually `Actor.system()`): no permission
    check. Call inside `tenant_scope(tenant)`. Refused when the person is a member already or
    the role does not exist in this organization.
    """
    role = Role.objects.filter(tenant=tenant, key=role_key).first()
    errors: dict[str, list[str]] = {}
    if role is None:
        keys = ", ".join(Role.objects.filter(tenant=tenant).values_list("key", flat=True))
        errors["role"] = [_("No such role here. Roles: %(keys)s") % {"keys": keys}]
    if Membership.objects.filter(tenant=tenant, user=user).exists():
        errors["user"] = [_("This person is a member already.")]
    if errors:
        raise ValidationFailed(fields=errors)
    assert role is not None
    with transaction.atomic():
        membership = Membership.objects.create(
            tenant=tenant, user=user, role=role, expires_at=expires_at,
            granted_by=actor.acting_user, created_by=actor.acting_user,
            updated_by=actor.acting_user,
        )
        audit_record(tenant=tenant, actor=actor, action="member.added",
                     entity_type="membership", entity_id=membership.pk,
                     changes={"user": str(user.pk), "role": str(role.pk),
                              "expires_at": expires_at.isoformat() if expires_at else None})
    return membership
