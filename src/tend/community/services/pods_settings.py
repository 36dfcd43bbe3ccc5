"""The pods part's settings per organization (kept in the organization's settings): when the
weekly check-in goes out — ISO day of the week (1 Monday … 7 Sunday) and the hour from which it
is sent, in the organization's time zone."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm

SETTINGS_KEY = "community.pods"
DEFAULTS = {"weekly_day": 7, "weekly_hour": 18}  # Sundays from 18:00
LIMITS = {"weekly_day": (1, 7), "weekly_hour": (0, 23)}


def pods_settings(tenant: Tenant) -> dict[str, int]:
    """The organization's pods settings, defaults filled in."""
    stored = (tenant.settings or {}).get(SETTINGS_KEY) or {}
    return {key: int(stored.get(key, default)) for key, default in DEFAULTS.items()}


def pods_settings_update(*, tenant: Tenant, actor: Actor, data: dict[str, Any]
                         ) -> dict[str, int]:
    """Change the weekly check-in's day (`weekly_day`, 1 Monday … 7 Sunday) and hour
    (`weekly_hour`, 0-23, organization time). Needs `pods.change`; unknown keys and values
    out of range are field errors."""
    check_perm(actor, "pods.change")
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for key, value in data.items():
        if key not in LIMITS:
            errors[key] = [_("Unknown setting.")]
            continue
        low, high = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = [_("Enter a whole number from %(low)d to %(high)d.")
                           % {"low": low, "high": high}]
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        settings = dict(locked.settings or {})
        settings[SETTINGS_KEY] = {**pods_settings(locked), **clean}
        locked.settings = settings
        locked.save(update_fields=["settings"])
        tenant.settings = settings
        audit_record(tenant=tenant, actor=actor, action="pods.settings_changed",
                     entity_type="organization", entity_id=tenant.pk, changes=clean)
    return pods_settings(tenant)
