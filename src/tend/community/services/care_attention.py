"""The attention rule's thresholds per organization (kept in the organization's settings)."""

from __future__ import annotations

from typing import Any

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.core.services.organization import tenant_setting_change, whole_numbers_in_range

SETTINGS_KEY = "community.attention"
DEFAULTS = {"days_since_contact": 30, "months_since_lesson": 3}
LIMITS = {"days_since_contact": (1, 3650), "months_since_lesson": (0, 120)}


def attention_settings(tenant: Tenant) -> dict[str, int]:
    return _filled((tenant.settings or {}).get(SETTINGS_KEY))


def attention_settings_update(*, tenant: Tenant, actor: Actor, data: dict[str, Any]
                              ) -> dict[str, int]:
    """Change the thresholds (`days_since_contact`, `months_since_lesson`). Needs
    `care.manage`."""
    check_perm(actor, "care.manage")
    clean = whole_numbers_in_range(data, LIMITS)
    tenant_setting_change(
        tenant=tenant, actor=actor, key=SETTINGS_KEY, action="attention.settings_changed",
        change=lambda stored: {**_filled(stored), **clean},
        changes=lambda previous, value: clean)
    return attention_settings(tenant)


def _filled(stored: dict[str, Any] | None) -> dict[str, int]:
    return {key: int((stored or {}).get(key, default)) for key, default in DEFAULTS.items()}
