"""Changing an organization's own profile and its enabled modules."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import phonenumbers
from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.modules import get_module
from tend.core.services.accounts import language_codes, time_zone_names
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm

_LOCALE_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")


def tenant_update(*, tenant: Tenant, actor: Actor, name: str, time_zone: str,
                  default_language: str, region: str,
                  enabled_modules: list[str], locale: str | None = None) -> Tenant:
    """Change the organization's name, time zone, default language, default phone region
    (ISO 3166 alpha-2), enabled modules (keys from the module registry; always-on modules
    need not be listed) and locale (None leaves it as is). Needs `organization.change`.
    The slug does not change here: links and API clients depend on it.
    """
    check_perm(actor, "organization.change")
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 200:
        errors["name"] = [_("Use at most 200 characters.")]
    if time_zone not in time_zone_names():
        errors["time_zone"] = [_("Choose a time zone from the list.")]
    if default_language not in language_codes():
        errors["default_language"] = [_("Choose one of the offered languages.")]
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        errors["region"] = [_("Enter a two-letter country code, such as US or AE.")]
    modules: list[str] = []
    for key in dict.fromkeys(enabled_modules or []):
        module = get_module(key)
        if module is None:
            errors.setdefault("enabled_modules", []).append(
                _("Unknown module: %(key)s.") % {"key": key})
        elif not module.always_on:
            modules.append(key)
    # `locale` (None: unchanged) is a language tag such as en-US or ar-AE, for formatting.
    if locale is not None and not _LOCALE_RE.fullmatch(locale):
        errors["locale"] = [_("Enter a locale such as en-US or ar-AE.")]
    if errors:
        raise ValidationFailed(fields=errors)

    new = {"name": name, "time_zone": time_zone, "default_language": default_language,
           "region": region, "enabled_modules": sorted(modules)}
    if locale is not None:
        new["locale"] = locale
    changed = {
        k: {"before": getattr(tenant, k), "after": v}
        for k, v in new.items()
        if getattr(tenant, k) != v
    }
    if not changed:
        return tenant
    with transaction.atomic():
        for key, value in new.items():
            setattr(tenant, key, value)
        tenant.save(update_fields=[*new, "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="organization.updated",
                     entity_type="organization", entity_id=tenant.pk, changes=changed)
    return tenant


def tenant_setting_change(*, tenant: Tenant, actor: Actor, key: str,
                          change: Callable[[Any], Any], action: str,
                          changes: Callable[[Any, Any], dict[str, Any]] | None = None,
                          entity_type: str = "organization") -> Any:
    """Read-modify-write one key of the organization's settings under a row lock, audited.

    `change` gets the stored value (None when unset) and returns the new one (None removes
    the key); `changes(previous, value)` builds the audit entry's changes (by default
    `{key: [previous, value]}`). Returns the new value; `tenant.settings` is refreshed.
    """
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        settings = dict(locked.settings or {})
        previous = settings.get(key)
        value = change(previous)
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
        Tenant.objects.filter(pk=tenant.pk).update(settings=settings)
        tenant.settings = settings
        audit_record(tenant=tenant, actor=actor, action=action, entity_type=entity_type,
                     entity_id=tenant.pk,
                     changes=changes(previous, value) if changes else {key: [previous, value]})
    return value


def whole_numbers_in_range(data: dict[str, Any], limits: dict[str, tuple[int, int]]
                           ) -> dict[str, int]:
    """Check a settings change of whole numbers: every key known, every value an int (not a
    bool) within its (low, high) limits. Field errors for the rest."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, int] = {}
    for key, value in data.items():
        if key not in limits:
            errors[key] = [_("Unknown setting.")]
            continue
        low, high = limits[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[key] = [_("Enter a whole number from %(low)d to %(high)d.")
                           % {"low": low, "high": high}]
            continue
        clean[key] = value
    if errors:
        raise ValidationFailed(fields=errors)
    return clean
