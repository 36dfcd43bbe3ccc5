"""Reading the audit log (call inside the tenant scope)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import ActorType, AuditLog, Tenant
from tend.core.zones import tenant_zone

ACTOR_SYSTEM = "system"


@dataclass(frozen=True)
class AuditFilters:
    """What the audit viewer, its CSV export and the API filter by.

    `actor` is an actor id (user or API key) or "system"; `action` matches exactly, or as a
    prefix when it ends with "." ("tag." finds every tag action); the dates are whole days in
    the organization's time zone, both ends included.
    """

    actor: str = ""
    action: str = ""
    entity_type: str = ""
    entity_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_params(self) -> dict[str, str]:
        """The non-empty filters as query-string parameters."""
        params = {
            "actor": self.actor, "action": self.action, "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in params.items() if v}


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def audit_entries(*, tenant: Tenant, filters: AuditFilters | None = None) -> QuerySet[AuditLog]:
    """`tenant`'s entries matching `filters`, newest first. Raises `ValidationFailed` when the
    date range ends before it starts."""
    filters = filters or AuditFilters()
    qs = AuditLog.objects.filter(tenant=tenant)
    if filters.actor == ACTOR_SYSTEM:
        qs = qs.filter(actor_type=ActorType.SYSTEM)
    elif filters.actor:
        qs = qs.filter(actor_id=filters.actor)
    if filters.action.endswith("."):
        qs = qs.filter(action__startswith=filters.action)
    elif filters.action:
        qs = qs.filter(action=filters.action)
    if filters.entity_type:
        qs = qs.filter(entity_type=filters.entity_type)
    if filters.entity_id:
        qs = qs.filter(entity_id=filters.entity_id)
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise ValidationFailed(fields={"date_to": [_("The end is before the start.")]})
    zone = tenant_zone(tenant)
    if filters.date_from:
        qs = qs.filter(created_at__gte=_start_of(filters.date_from, zone))
    if filters.date_to:
        qs = qs.filter(created_at__lt=_start_of(filters.date_to + timedelta(days=1), zone))
    return qs.order_by("-seq")


def audit_entry_get(*, tenant: Tenant, entry_id: UUID | str | Any) -> AuditLog:
    """One entry of `tenant`, or `NotFound` (also for malformed ids and other tenants)."""
    try:
        return AuditLog.objects.get(tenant=tenant, pk=entry_id)
    except (AuditLog.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such audit entry.")) from None


@dataclass(frozen=True)
class AuditActorChoice:
    value: str
    label: str


def audit_actor_choices(*, tenant: Tenant, limit: int = 500) -> list[AuditActorChoice]:
    """The actors that appear in `tenant`'s log (for the viewer's filter), system first."""
    rows = (
        AuditLog.objects.filter(tenant=tenant)
        .exclude(actor_type=ActorType.SYSTEM)
        .order_by()
        .values_list("actor_id", "actor_label")
        .distinct()[:limit]
    )
    seen: dict[str, str] = {}
    for actor_id, label in rows:
        if actor_id and actor_id not in seen:
            seen[actor_id] = label or actor_id
    choices = [AuditActorChoice(ACTOR_SYSTEM, _("System"))]
    choices += sorted((AuditActorChoice(k, v) for k, v in seen.items()),
                      key=lambda c: c.label.lower())
    return choices


def audit_entity_types(*, tenant: Tenant) -> list[str]:
    """The entity types that appear in `tenant`'s log, sorted."""
    return sorted(
        t for t in AuditLog.objects.filter(tenant=tenant).order_by()
        .values_list("entity_type", flat=True).distinct() if t
    )


def audit_actions(*, tenant: Tenant) -> list[str]:
    """The actions that appear in `tenant`'s log, sorted."""
    return sorted(
        AuditLog.objects.filter(tenant=tenant).order_by()
        .values_list("action", flat=True).distinct()
    )
