"""Creating, changing and deleting companies."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.models import Company
from tend.people.services._checks import clean_custom
from tend.people.services.activities import activity_record
from tend.people.services.contacts import clean_country, resolve_owner

TEXT_FIELDS = {"name": 200, "sector": 100, "size": 20, "city": 100, "region": 100,
               "registration_number": 100, "domain": 253}
EDITABLE_FIELDS = frozenset({*TEXT_FIELDS, "names", "country", "website", "owner", "custom"})


def _clean(tenant: Tenant, data: Any, *, partial: bool,
           current_custom: dict[str, Any] | None) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"data": [_("Give the company as an object.")]})
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - EDITABLE_FIELDS):
        errors[str(key)] = [_("This field cannot be set.")]
    for key, limit in TEXT_FIELDS.items():
        if key not in data:
            continue
        value = data[key] if data[key] is not None else ""
        if not isinstance(value, str):
            errors[key] = [_("Enter text.")]
            continue
        value = " ".join(value.split())
        if len(value) > limit:
            errors[key] = [_("Use at most %(limit)d characters.") % {"limit": limit}]
        else:
            out[key] = value.lower() if key == "domain" else value
    if (not partial or "name" in data) and not out.get("name") and "name" not in errors:
        errors["name"] = [_("This field is required.")]
    if "names" in data:
        names = data["names"] or {}
        if not isinstance(names, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 200 for k, v in names.items()
        ):
            errors["names"] = [_("Give names per language, e.g. {\"ar\": \"…\"}.")]
        else:
            out["names"] = {k: v.strip() for k, v in names.items() if v.strip()}
    if "country" in data:
        country = clean_country(data["country"], errors)
        if country is not None:
            out["country"] = country
    if "website" in data:
        value = (data["website"] or "").strip() if isinstance(data["website"], str | None) else 1
        try:
            if value:
                URLValidator(schemes=["http", "https"])(value)
            out["website"] = value
        except DjangoValidationError:
            errors["website"] = [_("Enter a web address starting with http:// or https://.")]
    if "owner" in data:
        out["owner"] = resolve_owner(tenant, data["owner"], errors)
    clean_custom(tenant, "company", data, partial=partial, current=current_custom, out=out,
                 errors=errors)
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _check_company(tenant: Tenant, company: Company) -> None:
    if company.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"company": [_("Choose a company of this organization.")]})


def company_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any]) -> Company:
    """Create a company. Needs `companies.add`. `name` is required; `owner` must be a current
    member; `custom` is validated against the organization's company fields."""
    check_perm(actor, "companies.add")
    values = _clean(tenant, data, partial=False, current_custom=None)
    with transaction.atomic():
        company = Company.objects.create(tenant=tenant, created_by=actor.acting_user,
                                         updated_by=actor.acting_user, **values)
        audit_record(tenant=tenant, actor=actor, action="company.created",
                     entity_type="company", entity_id=company.pk,
                     changes={"fields": sorted(k for k, v in values.items()
                                               if v not in ("", None, {}))})
        activity_record(tenant=tenant, actor=actor, company=company, type="COMPANY_CREATED",
                        category="SYSTEM", title=company.name)
    return company


def company_update(*, tenant: Tenant, actor: Actor, company: Company, data: dict[str, Any],
                   partial: bool = True) -> Company:
    """Change a live company. Needs `companies.change`. With `partial=False` absent fields are
    cleared (the name stays required)."""
    check_perm(actor, "companies.change")
    _check_company(tenant, company)
    if company.deleted_at:
        raise ValidationFailed(fields={"company": [_("This company was deleted.")]})
    if not partial and isinstance(data, dict):
        data = {**dict.fromkeys(TEXT_FIELDS, ""), "names": {}, "country": "", "website": "",
                "owner": None, "custom": {}, **data}
    values = _clean(tenant, data, partial=partial, current_custom=company.custom)
    changed = sorted(k for k, v in values.items()
                     if getattr(getattr(company, k), "pk", getattr(company, k))
                     != getattr(v, "pk", v))
    if not changed:
        return company
    with transaction.atomic():
        for key in changed:
            setattr(company, key, values[key])
        company.updated_by = actor.acting_user
        company.save(update_fields=[*changed, "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="company.updated",
                     entity_type="company", entity_id=company.pk, changes={"fields": changed})
    return company


def company_delete(*, tenant: Tenant, actor: Actor, company: Company) -> Company:
    """Soft-delete a company (`deleted_at`); its contacts keep their link but lists hide it.
    Needs `companies.delete`."""
    check_perm(actor, "companies.delete")
    _check_company(tenant, company)
    if company.deleted_at:
        return company
    with transaction.atomic():
        company.deleted_at = timezone.now()
        company.updated_by = actor.acting_user
        company.save(update_fields=["deleted_at", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="company.deleted",
                     entity_type="company", entity_id=company.pk)
    return company
