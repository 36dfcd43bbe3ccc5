"""Changing organization members: role, expiry, disabling, removal.

Every function here expects to run inside `tenant_scope(tenant)` and takes a membership
already fetched within that tenant (see `tend.core.selectors.members.member_get`).

The one invariant: an organization always keeps at least one *lasting* owner — an active
owner membership, without an expiry, of an active account. Changes that would leave none
are refused with `Conflict`. Writers of one tenant's memberships are serialized by locking
the tenant row, so two admins cannot each remove "the other" last owner at once.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import BuiltinRole, Membership, Role, Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import (
    check_can_grant,
    check_may_manage_member,
    check_perm,
    check_role_of_tenant,
    is_owner_role,
)


class LastOwnerError(Conflict):
    """An organization must keep at least one active owner."""

    code = "last_owner"


def _lock_tenant(tenant: Tenant) -> None:
    Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk").first()


def _is_lasting_owner(membership: Membership) -> bool:
    return (
        is_owner_role(membership.role)
        and membership.is_active
        and membership.expires_at is None
        and membership.user.is_active
    )


def _check_keeps_an_owner(tenant: Tenant, membership: Membership, *, after: bool) -> None:
    """Refuse if `membership` is a lasting owner now, would not be `after` the change, and no
    other lasting owner exists."""
    if not _is_lasting_owner(membership) or after:
        return
    others = (
        Membership.objects.filter(
            tenant=tenant,
            role__is_builtin=True,
            role__key=BuiltinRole.OWNER,
            is_active=True,
            expires_at__isnull=True,
            user__is_active=True,
        )
        .exclude(pk=membership.pk)
        .exists()
    )
    if not others:
        raise LastOwnerError(_("An organization must keep at least one active owner."))


def _check_same_tenant(tenant: Tenant, membership: Membership) -> None:
    if membership.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"membership": [_("Not a member of this organization.")]})


def _refresh_for_update(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update()
        .select_related("user", "role")
        .get(pk=membership.pk)
    )


def member_change_role(*, tenant: Tenant, actor: Actor, membership: Membership,
                       role: Role) -> Membership:
    """Give `membership` the role `role` (a role of `tenant`).

    Needs `members.change`; the actor must be allowed to grant `role` (owners only for the
    owner role, otherwise only roles within the actor's own permissions) and to manage the
    member (owners only for an owner).
    """
    check_perm(actor, "members.change")
    _check_same_tenant(tenant, membership)
    check_role_of_tenant(role, tenant)
    with transaction.atomic():
        _lock_tenant(tenant)
        membership = _refresh_for_update(membership)
        check_may_manage_member(actor, membership)
        check_can_grant(actor, role)
        if membership.role_id == role.pk:
            return membership
        _check_keeps_an_owner(tenant, membership, after=is_owner_role(role))
        before = membership.role_id
        membership.role = role
        membership.granted_by = actor.acting_user
        membership.updated_by = actor.acting_user
        membership.save(update_fields=["role", "granted_by", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor, action="member.role_changed",
            entity_type="membership", entity_id=membership.pk,
            changes={"user": str(membership.user_id),
                     "role": {"before": str(before), "after": str(role.pk)}},
        )
    return membership


def member_set_expiry(*, tenant: Tenant, actor: Actor, membership: Membership,
                      expires_at: datetime | None) -> Membership:
    """Make the membership end at `expires_at` (an aware datetime in the future), or never
    (`None`). Needs `members.change`."""
    check_perm(actor, "members.change")
    _check_same_tenant(tenant, membership)
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise ValidationFailed(fields={"expires_at": [_("Give a time zone.")]})
        if expires_at <= timezone.now():
            raise ValidationFailed(fields={"expires_at": [_("Choose a time in the future.")]})
    with transaction.atomic():
        _lock_tenant(tenant)
        membership = _refresh_for_update(membership)
        check_may_manage_member(actor, membership)
        if membership.expires_at == expires_at:
            return membership
        _check_keeps_an_owner(tenant, membership, after=expires_at is None)
        before = membership.expires_at
        membership.expires_at = expires_at
        membership.updated_by = actor.acting_user
        membership.save(update_fields=["expires_at", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor, action="member.expiry_set",
            entity_type="membership", entity_id=membership.pk,
            changes={
                "user": str(membership.user_id),
                "expires_at": {"before": before.isoformat() if before else None,
                               "after": expires_at.isoformat() if expires_at else None},
            },
        )
    return membership


def _set_active(*, tenant: Tenant, actor: Actor, membership: Membership,
                active: bool) -> Membership:
    check_perm(actor, "members.change")
    _check_same_tenant(tenant, membership)
    if not active and actor.user is not None and membership.user_id == actor.user.pk:
        raise PermissionDenied(_("You cannot disable your own membership."))
    with transaction.atomic():
        _lock_tenant(tenant)
        membership = _refresh_for_update(membership)
        check_may_manage_member(actor, membership)
        if membership.is_active == active:
            return membership
        _check_keeps_an_owner(tenant, membership, after=active)
        membership.is_active = active
        membership.updated_by = actor.acting_user
        membership.save(update_fields=["is_active", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor,
            action="member.enabled" if active else "member.disabled",
            entity_type="membership", entity_id=membership.pk,
            changes={"user": str(membership.user_id)},
        )
    return membership


def member_disable(*, tenant: Tenant, actor: Actor, membership: Membership) -> Membership:
    """End the member's access to this organization at once, keeping the membership.

    The tenant middleware and the API authentication check the membership on every request,
    so the member's open sessions and the API keys they created stop reaching this
    organization immediately; their other organizations are untouched. Needs
    `members.change`; nobody may disable themselves.
    """
    return _set_active(tenant=tenant, actor=actor, membership=membership, active=False)


def member_enable(*, tenant: Tenant, actor: Actor, membership: Membership) -> Membership:
    """Give a disabled member their access back, with the role they had. Needs
    `members.change`."""
    return _set_active(tenant=tenant, actor=actor, membership=membership, active=True)


def member_remove(*, tenant: Tenant, actor: Actor, membership: Membership) -> None:
    """Delete the membership. The person keeps their account and other organizations.

    Needs `members.delete`. A member may remove themselves (leave) as long as an owner stays.
    """
    check_perm(actor, "members.delete")
    _check_same_tenant(tenant, membership)
    with transaction.atomic():
        _lock_tenant(tenant)
        membership = _refresh_for_update(membership)
        check_may_manage_member(actor, membership)
        _check_keeps_an_owner(tenant, membership, after=False)
        membership_id, user_id, role_id = membership.pk, membership.user_id, membership.role_id
        membership.delete()
        audit_record(
            tenant=tenant, actor=actor, action="member.removed",
            entity_type="membership", entity_id=membership_id,
            changes={"user": str(user_id), "role": str(role_id)},
        )
