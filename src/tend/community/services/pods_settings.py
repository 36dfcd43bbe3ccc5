"""The pods part's settings per organization (kept in the organization's settings): when the
weekly check-in goes out — ISO day of the week (1 Monday … 7 Sunday) and the hour from which it
is sent, in the organization's time zone."""

from __future__ import annotations

from typing import Any

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.core.services.organization import tenant_setting_change, whole_numbers_in_range

SETTINGS_KEY = "community.pods"
DEFAULTS = {"weekly_day": 7, "weekly_hour": 18}  # Sundays from 18:00
LIMITS = {"weekly_day": (1, 7), "weekly_hour": (0, 23)}


def pods_settings(tenant: Tenant) -> dict[str, int]:
    """The organization's pods settings, defaults filled in."""
    return _filled((tenant.settings or {}).get(SETTINGS_KEY))


def pods_settings_update(*, tenant: Tenant, actor: Actor, data: dict[str, Any]
                         ) -> dict[str, int]:
    """Change the weekly check-in's day (`weekly_day`, 1 Monday … 7 Sunday) and hour
    (`weekly_hour`, 0-23, organization time). Needs `pods.change`; unknown keys and values
    out of range are field errors."""
    check_perm(actor, "pods.change")
    clean = whole_numbers_in_range(data, LIMITS)
    tenant_setting_change(
        tenant=tenant, actor=actor, key=SETTINGS_KEY, action="pods.settings_changed",
        change=lambda stored: {**_filled(stored), **clean},
        changes=lambda previous, value: clean)
    return pods_settings(tenant)


def _filled(stored: dict[str, Any] | None) -> dict[str, int]:
    return {key: int((stored or {}).get(key, default)) for key, default in DEFAULTS.items()}
