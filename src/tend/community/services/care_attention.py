"""The attention rule's thresholds per organization (kept in the organization's settings)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm

SETTINGS_KEY = "community.attention"
DEFAULTS = {"days_since_contact": 30, "months_since_lesson": 3}
LIMITS = {"days_since_contact": (1, 3650), "months_since_lesson": (0, 120)}


def attention_settings(tenant: Tenant) -> dict[str, int]:
    stored = (tenant.settings or {}).get(SETTINGS_KEY) or {}
    return {key: int(stored.get(key, default)) for key, default in DEFAULTS.items()}


def attention_settings_update(*, tenant: Tenant, actor: Actor, data: dict[str, Any]
                              ) -> dict[str, int]:
    """Change the thresholds (`days_since_contact`, `months_since_lesson`). Needs
    `care.manage`."""
    check_perm(actor, "care.manage")
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
        settings[SETTINGS_KEY] = {**attention_settings(locked), **clean}
        locked.settings = settings
        locked.save(update_fields=["settings"])
        tenant.settings = settings
        audit_record(tenant=tenant, actor=actor, action="attention.settings_changed",
                     entity_type="organization", entity_id=tenant.pk, changes=clean)
    return attention_settings(tenant)
