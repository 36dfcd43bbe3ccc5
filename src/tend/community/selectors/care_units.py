"""Reading units and their members."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import Unit, UnitMembership
from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found


def unit_get(*, tenant: Tenant, unit_id: Any) -> Unit:
    """`tenant`'s unit `unit_id`, else `NotFound` (also for malformed ids)."""
    return one_or_not_found(Unit.objects.filter(tenant=tenant).select_related("parent"),
                            unit_id, _("No such unit."))


def current_q(prefix: str = "") -> Q:
    today = timezone.localdate()
    return Q(**{f"{prefix}until__isnull": True}) | Q(**{f"{prefix}until__gt": today})


def unit_list(*, tenant: Tenant, root: Unit | None = None) -> QuerySet[Unit]:
    """The units (in tree order: by path), each with `member_count` (current members of the
    unit itself); `root` keeps only its subtree."""
    qs = Unit.objects.filter(tenant=tenant)
    if root is not None:
        qs = qs.filter(path__startswith=root.path)
    return qs.annotate(member_count=Count("memberships", filter=current_q("memberships__"))
                       ).order_by("path")


def unit_ancestors(*, tenant: Tenant, unit: Unit) -> list[Unit]:
    """The units above `unit`, root first (one query)."""
    ids = [part for part in unit.path.split("/") if part][:-1]
    by_hex = {u.pk.hex: u for u in Unit.objects.filter(
        tenant=tenant, pk__in=[_uuid(i) for i in ids])}
    return [by_hex[i] for i in ids if i in by_hex]


def _uuid(text: str) -> Any:
    from uuid import UUID

    return UUID(text)


def unit_members(*, tenant: Tenant, unit: Unit, subtree: bool = False,
                 include_past: bool = False, actor: Any = None) -> QuerySet[UnitMembership]:
    """The unit's memberships (with contact and unit), leaders first then by name; given
    `actor`, only the people the actor may see (unit-scoped staff)."""
    from tend.people.visibility import contact_scope_filter

    qs = UnitMembership.objects.filter(tenant=tenant)
    scope = contact_scope_filter(tenant=tenant, actor=actor)
    if scope is not None:
        qs = qs.filter(scope)
    qs = qs.filter(unit__path__startswith=unit.path) if subtree else qs.filter(unit=unit)
    if not include_past:
        qs = qs.filter(current_q())
    return qs.select_related("contact", "unit").order_by("role", "contact__display_name", "id")


def membership_get(*, tenant: Tenant, membership_id: Any) -> UnitMembership:
    return one_or_not_found(
        UnitMembership.objects.filter(tenant=tenant).select_related("unit", "contact"),
        membership_id, _("No such membership."))
