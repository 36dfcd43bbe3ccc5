"""Custom roles: named sets of permissions an organization defines beside the built-in ones."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import BuiltinRole, Invitation, Membership, Role, Tenant
from tend.core.permissions import all_permissions
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm

KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")


def _clean_permissions(actor: Actor, permissions: Iterable[str],
                       kept: frozenset[str] = frozenset()) -> list[str]:
    """Known permissions, sorted and unique. The actor may add only permissions they hold;
    `kept` (the role's current ones) may stay even when the actor lacks them."""
    if isinstance(permissions, str) or not isinstance(permissions, Iterable):
        raise ValidationFailed(fields={"permissions": [_("Give a list of permissions.")]})
    wanted = sorted({str(p) for p in permissions})
    known = all_permissions()
    unknown = [p for p in wanted if p not in known]
    if unknown:
        raise ValidationFailed(fields={"permissions": [
            _("Unknown permission: %(name)s.") % {"name": p} for p in unknown
        ]})
    if not actor.is_system:
        beyond = [p for p in wanted if p not in actor.permissions and p not in kept]
        if beyond:
            raise ValidationFailed(fields={"permissions": [
                _("You cannot grant a permission you do not have: %(name)s.") % {"name": p}
                for p in beyond
            ]})
    return wanted


def _clean_text(errors: dict[str, list[str]], field: str, value: str | None, *, limit: int,
                required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        errors[field] = [_("This field is required.")]
    elif len(value) > limit:
        errors[field] = [_("Use at most %(limit)d characters.") % {"limit": limit}]
    return value


def _check_editable(role: Role) -> None:
    if role.is_builtin:
        raise PermissionDenied(_("Built-in roles cannot be changed."))


def role_create(*, tenant: Tenant, actor: Actor, key: str, name: str, description: str = "",
                permissions: Iterable[str] = ()) -> Role:
    """Create a custom role. Needs `roles.add`.

    `key` is a short lowercase identifier, unique in the organization and not one of the
    built-in keys. Every permission must be known to the registry and held by the actor.
    """
    check_perm(actor, "roles.add")
    errors: dict[str, list[str]] = {}
    key = (key or "").strip().lower()
    if not key:
        errors["key"] = [_("This field is required.")]
    elif not KEY_RE.match(key):
        errors["key"] = [_("Use lowercase letters, digits, - and _ (at most 50).")]
    elif key in BuiltinRole.values:
        errors["key"] = [_("This key belongs to a built-in role.")]
    elif Role.objects.filter(tenant=tenant, key=key).exists():
        errors["key"] = [_("A role with this key exists.")]
    name = _clean_text(errors, "name", name, limit=100, required=True)
    description = _clean_text(errors, "description", description, limit=300, required=False)
    try:
        cleaned = _clean_permissions(actor, permissions)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        role = Role.objects.create(
            tenant=tenant, key=key, name=name, description=description, is_builtin=False,
            permissions=cleaned, created_by=actor.acting_user, updated_by=actor.acting_user,
        )
        audit_record(
            tenant=tenant, actor=actor, action="role.created", entity_type="role",
            entity_id=role.pk, changes={"key": key, "permissions": cleaned},
        )
    return role


def role_update(*, tenant: Tenant, actor: Actor, role: Role, name: str | None = None,
                description: str | None = None,
                permissions: Iterable[str] | None = None) -> Role:
    """Change a custom role's name, description or permissions (None leaves a field as is).

    Needs `roles.change`; built-in roles are read-only. The actor may add only permissions
    they hold (ones the role already has may stay). Members holding the role get the new
    permissions on their next request.
    """
    check_perm(actor, "roles.change")
    if role.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"role": [_("Choose a role of this organization.")]})
    _check_editable(role)
    errors: dict[str, list[str]] = {}
    new_name = role.name if name is None else _clean_text(errors, "name", name, limit=100,
                                                           required=True)
    new_description = (role.description if description is None else
                       _clean_text(errors, "description", description, limit=300,
                                   required=False))
    new_permissions = list(role.permissions or [])
    if permissions is not None:
        try:
            new_permissions = _clean_permissions(actor, permissions,
                                                 frozenset(role.permissions or []))
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    before = {"name": role.name, "description": role.description,
              "permissions": list(role.permissions or [])}
    after = {"name": new_name, "description": new_description, "permissions": new_permissions}
    changed = {k: {"before": before[k], "after": after[k]} for k in after if before[k] != after[k]}
    if not changed:
        return role
    with transaction.atomic():
        role.name, role.description, role.permissions = new_name, new_description, new_permissions
        role.updated_by = actor.acting_user
        role.save(update_fields=["name", "description", "permissions", "updated_by",
                                 "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="role.updated", entity_type="role",
                     entity_id=role.pk, changes=changed)
    return role


def role_delete(*, tenant: Tenant, actor: Actor, role: Role) -> None:
    """Delete a custom role no membership or pending invitation uses. Needs `roles.delete`."""
    check_perm(actor, "roles.delete")
    if role.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"role": [_("Choose a role of this organization.")]})
    _check_editable(role)
    with transaction.atomic():
        if Membership.objects.filter(tenant=tenant, role=role).exists():
            raise Conflict(_("This role is in use by members; give them another role first."))
        pending = [i for i in Invitation.objects.filter(tenant=tenant, role=role) if i.is_pending]
        if pending:
            raise Conflict(_("Pending invitations use this role; revoke them first."))
        role_id, key = role.pk, role.key
        role.delete()
        audit_record(tenant=tenant, actor=actor, action="role.deleted", entity_type="role",
                     entity_id=role_id, changes={"key": key})
