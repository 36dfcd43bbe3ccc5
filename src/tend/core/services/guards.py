"""Authorization checks shared by the account, member and role services.

Services check what they need even though views and endpoints check too: the same service
is reached from the UI, the API and commands, and the check belongs next to the write.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import BuiltinRole, Membership, Role, Tenant


def check_perm(actor: Actor, *permissions: str) -> None:
    """Raise `PermissionDenied` unless `actor` holds every one of `permissions`."""
    missing = [p for p in permissions if not actor.has_perm(p)]
    if missing:
        raise PermissionDenied(_("You do not have permission to do this."), missing=missing)


def is_owner_role(role: Role) -> bool:
    return role.is_builtin and role.key == BuiltinRole.OWNER


def actor_is_owner(actor: Actor) -> bool:
    """True for the system and for a signed-in member whose current role is the owner role.

    API keys never count as owners, even a key made by an owner: handing out the owner role
    is kept to people.
    """
    if actor.is_system:
        return True
    membership = actor.membership
    return (
        actor.kind == "user"
        and membership is not None
        and membership.is_current
        and is_owner_role(membership.role)
    )


def check_role_of_tenant(role: Role, tenant: Tenant, *, field: str = "role") -> None:
    if role.tenant_id != tenant.pk:
        raise ValidationFailed(fields={field: [_("Choose a role of this organization.")]})


def check_can_grant(actor: Actor, role: Role, *, field: str = "role") -> None:
    """Refuse to hand out a role that is more than the actor holds.

    Only owners grant the owner role; anyone else may grant a role whose permissions they
    all hold themselves, so nobody can raise a member (or themselves) above their own level.
    """
    if is_owner_role(role):
        if not actor_is_owner(actor):
            raise PermissionDenied(
                _("Only owners can grant the owner role."), fields={field: [
                    _("Only owners can grant the owner role.")]},
            )
        return
    if actor.is_system:
        return
    beyond = sorted(role.permission_set() - actor.permissions)
    if beyond:
        raise PermissionDenied(
            _("This role has permissions you do not have."),
            fields={field: [_("This role has permissions you do not have.")]},
            missing=beyond,
        )


def check_may_manage_member(actor: Actor, membership: Membership) -> None:
    """Only owners may change, disable or remove an owner."""
    if is_owner_role(membership.role) and not actor_is_owner(actor):
        raise PermissionDenied(_("Only owners can change another owner's membership."))
