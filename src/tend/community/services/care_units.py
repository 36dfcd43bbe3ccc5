"""Units (a tree of any depth, materialized paths) and unit memberships."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from tend.community.models import Unit, UnitMembership, UnitRole
from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import Contact

MAX_DEPTH = 12


def _clean_name(name: Any) -> str:
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        raise ValidationFailed(fields={"name": [_("Enter a name of 1 to 200 characters.")]})
    return name


def unit_create(*, tenant: Tenant, actor: Actor, name: str, parent: Unit | None = None,
                kind: str = "") -> Unit:
    """Add a unit under `parent` (a root unit without one). Needs `units.change`."""
    check_perm(actor, "units.change")
    name = _clean_name(name)
    if parent is not None and parent.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"parent_id": [_("Choose a unit of this organization.")]})
    depth = parent.depth + 1 if parent else 0
    if depth >= MAX_DEPTH:
        raise ValidationFailed(fields={"parent_id": [_("Units nest at most %(n)d deep.")
                                                     % {"n": MAX_DEPTH}]})
    with transaction.atomic():
        unit = Unit(tenant=tenant, name=name, kind=(kind or "")[:40], parent=parent,
                    depth=depth, created_by=actor.user)
        unit.path = f"{parent.path if parent else ''}{unit.pk.hex}/"
        unit.save()
        audit_record(tenant=tenant, actor=actor, action="unit.created", entity_type="unit",
                     entity_id=unit.pk, changes={"parent": str(parent.pk) if parent else None})
    return unit


def unit_update(*, tenant: Tenant, actor: Actor, unit: Unit, name: str | None = None,
                kind: str | None = None, parent: Unit | None = None,
                move: bool = False) -> Unit:
    """Rename a unit or (`move=True`) put it under `parent` (None: make it a root); its
    subtree moves along. A unit cannot move under itself. Needs `units.change`."""
    check_perm(actor, "units.change")
    with transaction.atomic():
        if name is not None:
            unit.name = _clean_name(name)
        if kind is not None:
            unit.kind = kind[:40]
        if move:
            if parent is not None and (parent.tenant_id != tenant.pk
                                       or parent.path.startswith(unit.path)):
                raise ValidationFailed(fields={"parent_id": [
                    _("Choose a unit outside this unit's own subtree.")]})
            old_path, old_depth = unit.path, unit.depth
            unit.parent = parent
            unit.path = f"{parent.path if parent else ''}{unit.pk.hex}/"
            unit.depth = parent.depth + 1 if parent else 0
            Unit.objects.filter(tenant=tenant, path__startswith=old_path).exclude(
                pk=unit.pk).update(
                path=Concat(Value(unit.path), Substr("path", len(old_path) + 1)),
                depth=F("depth") + (unit.depth - old_depth))
        unit.updated_by = actor.user
        unit.save()
        audit_record(tenant=tenant, actor=actor, action="unit.updated", entity_type="unit",
                     entity_id=unit.pk)
    return unit


def unit_delete(*, tenant: Tenant, actor: Actor, unit: Unit) -> None:
    """Delete a unit without sub-units (its memberships go with it). Needs `units.change`."""
    check_perm(actor, "units.change")
    if Unit.objects.filter(tenant=tenant, parent=unit).exists():
        raise ValidationFailed(_("Move or delete the sub-units first."),
                               fields={"unit": [_("Move or delete the sub-units first.")]})
    with transaction.atomic():
        audit_record(tenant=tenant, actor=actor, action="unit.deleted", entity_type="unit",
                     entity_id=unit.pk)
        unit.delete()


def unit_membership_add(*, tenant: Tenant, actor: Actor, unit: Unit, contact: Contact,
                        role: str = UnitRole.MEMBER, since: date | None = None,
                        until: date | None = None, scope_staff: bool = False
                        ) -> UnitMembership:
    """Put `contact` in `unit` with `role`. Needs `units.change`."""
    check_perm(actor, "units.change")
    errors: dict[str, list[str]] = {}
    if role not in UnitRole.values:
        errors["role"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(
            UnitRole.values)}]
    if since and until and until < since:
        errors["until"] = [_("The end must not be before the start.")]
    if contact.tenant_id != tenant.pk or unit.tenant_id != tenant.pk:
        errors["contact_id"] = [_("Choose a contact of this organization.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        membership = UnitMembership.objects.create(
            tenant=tenant, unit=unit, contact=contact, role=role, until=until,
            scope_staff=scope_staff, created_by=actor.user,
            **({"since": since} if since else {}))
        audit_record(tenant=tenant, actor=actor, action="unit.member_added",
                     entity_type="unit", entity_id=unit.pk,
                     changes={"contact": str(contact.pk), "role": role})
    return membership


def unit_membership_end(*, tenant: Tenant, actor: Actor, membership: UnitMembership,
                        until: date) -> UnitMembership:
    """End a membership on `until`. Needs `units.change`."""
    check_perm(actor, "units.change")
    if until < membership.since:
        raise ValidationFailed(fields={"until": [_("The end must not be before the start.")]})
    with transaction.atomic():
        membership.until = until
        membership.save(update_fields=["until", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="unit.member_ended",
                     entity_type="unit", entity_id=membership.unit_id,
                     changes={"contact": str(membership.contact_id)})
    return membership
