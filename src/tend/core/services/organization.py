"""Changing an organization's own profile and its enabled modules."""

from __future__ import annotations

import re

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
