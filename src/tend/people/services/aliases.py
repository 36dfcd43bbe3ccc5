"""Identities of a contact: emails, phones, messenger ids and ids in other systems.

One identity value (per organization, type and system) points at one contact. The contact's
`primary_email`/`primary_phone` copies are kept in step here, on every change of a primary
EMAIL or PHONE alias without a `system`.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.choices import AliasType
from tend.people.identities import normalize_alias
from tend.people.models import Contact, IdentityAlias
from tend.people.services.activities import activity_record

MAX_SYSTEM = 50
MAX_SOURCE = 100


def alias_field(type: str) -> str:
    """The input field an alias of `type` is reported under."""
    fields: dict[str, str] = {AliasType.EMAIL: "email", AliasType.PHONE: "phone"}
    return fields.get(type, "value")


def _check_contact(tenant: Tenant, contact: Contact) -> None:
    if contact.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"contact": [_("Choose a contact of this organization.")]})


def _check_alias(tenant: Tenant, contact: Contact, alias: IdentityAlias) -> None:
    _check_contact(tenant, contact)
    if alias.tenant_id != tenant.pk or alias.contact_id != contact.pk:
        raise ValidationFailed(fields={"alias": [_("This identity is not on this contact.")]})


def sync_primary_fields(contact: Contact) -> list[str]:
    """Copy the primary EMAIL/PHONE aliases into the contact's columns; returns changed fields.

    Saves the contact when something changed. Call inside the transaction of the alias change.
    """
    primaries = dict(
        IdentityAlias.objects.filter(
            tenant_id=contact.tenant_id, contact=contact, system="", is_primary=True,
            type__in=[AliasType.EMAIL, AliasType.PHONE],
        ).values_list("type", "value")
    )
    changed = []
    email = primaries.get(AliasType.EMAIL, "")
    phone = primaries.get(AliasType.PHONE, "")
    if contact.primary_email != email:
        contact.primary_email = email
        changed.append("primary_email")
    if contact.primary_phone != phone:
        contact.primary_phone = phone
        changed.append("primary_phone")
    if changed:
        contact.save(update_fields=[*changed, "updated_at"])
    return changed


def clean_alias_value(*, tenant: Tenant, type: str, value: Any, field: str | None = None) -> str:
    """The normalized value of an identity, or `ValidationFailed` keyed by `field`."""
    field = field or alias_field(type)
    if type not in AliasType.values:
        raise ValidationFailed(fields={"type": [_("Choose one of the listed identity types.")]})
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(fields={field: [_("This field is required.")]})
    try:
        return normalize_alias(type, value, region=tenant.region or "US")
    except ValidationFailed as exc:
        messages = [m for ms in exc.fields.values() for m in ms] or [exc.message]
        raise ValidationFailed(fields={field: messages}) from None


def _add(*, tenant: Tenant, actor: Actor, contact: Contact, type: str, value: Any,
         system: str, is_primary: bool, verified: bool, source: str,
         field: str | None) -> IdentityAlias:
    field = field or alias_field(type)
    system = (system or "").strip() if isinstance(system, str) else ""
    source = (source or "").strip() if isinstance(source, str) else ""
    if len(system) > MAX_SYSTEM:
        raise ValidationFailed(fields={"system": [_("Use at most %(limit)d characters.")
                                                  % {"limit": MAX_SYSTEM}]})
    if type == AliasType.EXTERNAL and not system:
        raise ValidationFailed(fields={"system": [_("Name the system this id belongs to.")]})
    clean = clean_alias_value(tenant=tenant, type=type, value=value, field=field)
    existing = IdentityAlias.objects.filter(tenant=tenant, type=type, system=system,
                                            value=clean).first()
    if existing is not None:
        if existing.contact_id == contact.pk:
            raise ValidationFailed(fields={field: [_("This contact has %(value)s already.")
                                                   % {"value": clean}]})
        raise ValidationFailed(fields={field: [_("%(value)s already belongs to another contact.")
                                               % {"value": clean}]})
    siblings = IdentityAlias.objects.filter(tenant=tenant, contact=contact, type=type,
                                            system=system)
    has_primary = siblings.filter(is_primary=True).exists()
    make_primary = bool(is_primary) or not has_primary
    try:
        with transaction.atomic():
            if make_primary and has_primary:
                siblings.filter(is_primary=True).update(is_primary=False)
            alias = IdentityAlias.objects.create(
                tenant=tenant, contact=contact, type=type, system=system, value=clean,
                is_primary=make_primary, verified_at=timezone.now() if verified else None,
                source=source[:MAX_SOURCE], created_by=actor.acting_user,
                updated_by=actor.acting_user,
            )
    except IntegrityError:  # a concurrent write took the value
        raise ValidationFailed(fields={field: [_("%(value)s already belongs to another "
                                                 "contact.") % {"value": clean}]}) from None
    return alias


def _record(tenant: Tenant, actor: Actor, contact: Contact, action: str,
            alias: IdentityAlias) -> None:
    audit_record(tenant=tenant, actor=actor, action=action, entity_type="contact",
                 entity_id=contact.pk, changes={"alias": str(alias.pk), "type": alias.type})
    activity_record(tenant=tenant, actor=actor, contact=contact, type="CONTACT_UPDATED",
                    category="SYSTEM", title=str(contact),
                    metadata={"fields": [alias_field(alias.type) + "s"]})


def alias_add(*, tenant: Tenant, actor: Actor, contact: Contact, type: str, value: str,
              system: str = "", is_primary: bool = False, verified: bool = False,
              source: str = "") -> IdentityAlias:
    """Add an identity to `contact`. Needs `contacts.change`.

    `value` is normalized (`normalize_alias`, phones read in the organization's region). A value
    another contact holds is refused without saying which contact. The first identity of a
    type (and system) becomes primary; `is_primary=True` moves the primary flag to this one.
    EXTERNAL ids need `system`.
    """
    check_perm(actor, "contacts.change")
    _check_contact(tenant, contact)
    with transaction.atomic():
        alias = _add(tenant=tenant, actor=actor, contact=contact, type=type, value=value,
                     system=system, is_primary=is_primary, verified=verified, source=source,
                     field=None)
        sync_primary_fields(contact)
        _record(tenant, actor, contact, "contact.alias_added", alias)
    return alias


def alias_remove(*, tenant: Tenant, actor: Actor, contact: Contact,
                 alias: IdentityAlias) -> None:
    """Remove an identity from `contact`. Needs `contacts.change`. If it was the primary one,
    the oldest remaining identity of its type and system becomes primary."""
    check_perm(actor, "contacts.change")
    _check_alias(tenant, contact, alias)
    with transaction.atomic():
        was_primary = alias.is_primary
        alias_id = alias.pk
        alias.delete()
        alias.pk = alias_id
        if was_primary:
            successor = IdentityAlias.objects.filter(
                tenant=tenant, contact=contact, type=alias.type, system=alias.system
            ).order_by("created_at", "id").first()
            if successor is not None:
                successor.is_primary = True
                successor.save(update_fields=["is_primary", "updated_at"])
        sync_primary_fields(contact)
        _record(tenant, actor, contact, "contact.alias_removed", alias)


def alias_set_primary(*, tenant: Tenant, actor: Actor, contact: Contact,
                      alias: IdentityAlias) -> IdentityAlias:
    """Make `alias` the primary identity of its type (and system). Needs `contacts.change`."""
    check_perm(actor, "contacts.change")
    _check_alias(tenant, contact, alias)
    if alias.is_primary:
        return alias
    with transaction.atomic():
        IdentityAlias.objects.filter(
            tenant=tenant, contact=contact, type=alias.type, system=alias.system,
            is_primary=True,
        ).update(is_primary=False)
        alias.is_primary = True
        alias.updated_by = actor.acting_user
        alias.save(update_fields=["is_primary", "updated_by", "updated_at"])
        sync_primary_fields(contact)
        _record(tenant, actor, contact, "contact.alias_primary_set", alias)
    return alias


def alias_verify(*, tenant: Tenant, actor: Actor, contact: Contact,
                 alias: IdentityAlias) -> IdentityAlias:
    """Mark `alias` verified now (kept if already verified). Needs `contacts.change`."""
    check_perm(actor, "contacts.change")
    _check_alias(tenant, contact, alias)
    if alias.verified_at is not None:
        return alias
    with transaction.atomic():
        alias.verified_at = timezone.now()
        alias.updated_by = actor.acting_user
        alias.save(update_fields=["verified_at", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="contact.alias_verified",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"alias": str(alias.pk), "type": alias.type})
    return alias


def aliases_add_many(*, tenant: Tenant, actor: Actor, contact: Contact,
                     items: list[tuple[str, Any, str, str]]) -> list[IdentityAlias]:
    """Add `(type, value, system, field)` identities in order, inside the caller's transaction,
    without activities (used by `contact_create`). Errors are keyed by each item's `field`."""
    added = []
    for type, value, system, field in items:
        added.append(_add(tenant=tenant, actor=actor, contact=contact, type=type, value=value,
                          system=system, is_primary=False, verified=False, source="",
                          field=field))
    sync_primary_fields(contact)
    return added


def aliases_set(*, tenant: Tenant, actor: Actor, contact: Contact, type: str,
                values: list[str], field: str | None = None) -> bool:
    """Make `contact`'s identities of `type` (without a system) exactly `values`, the first one
    primary: new values are added, missing ones removed, kept ones keep their history
    (verification, source). Needs `contacts.change`. Returns whether anything changed.

    Errors are keyed by `field` (default: the type's field). Runs in one transaction.
    """
    check_perm(actor, "contacts.change")
    _check_contact(tenant, contact)
    field = field or alias_field(type)
    wanted: list[str] = []
    for value in values:
        clean = clean_alias_value(tenant=tenant, type=type, value=value, field=field)
        if clean not in wanted:
            wanted.append(clean)
    current = {a.value: a for a in IdentityAlias.objects.filter(
        tenant=tenant, contact=contact, type=type, system="")}
    removed = [a for v, a in current.items() if v not in wanted]
    added = [v for v in wanted if v not in current]
    primary = wanted[0] if wanted else None
    primary_moves = primary is not None and primary in current and not current[primary].is_primary
    if not removed and not added and not primary_moves:
        return False
    with transaction.atomic():
        for alias in removed:
            alias.delete()
        IdentityAlias.objects.filter(tenant=tenant, contact=contact, type=type, system="",
                                     is_primary=True).update(is_primary=False)
        for value in added:
            _add(tenant=tenant, actor=actor, contact=contact, type=type, value=value,
                 system="", is_primary=False, verified=False, source="", field=field)
        if primary is not None:
            IdentityAlias.objects.filter(tenant=tenant, contact=contact, type=type, system="",
                                         is_primary=True).update(is_primary=False)
            IdentityAlias.objects.filter(tenant=tenant, contact=contact, type=type, system="",
                                         value=primary).update(is_primary=True)
        sync_primary_fields(contact)
        audit_record(tenant=tenant, actor=actor, action="contact.aliases_set",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"type": type, "added": len(added), "removed": len(removed)})
    return True
