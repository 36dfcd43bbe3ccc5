"""Reads behind the contact page ("360"): the contact with what its header shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Tenant
from tend.core.selectors.customfields import custom_definitions
from tend.people.choices import ContactStatus
from tend.people.models import Contact, ContactTag, IdentityAlias
from tend.people.visibility import visible_contacts


def access_contact(*, tenant: Tenant, contact_id: UUID | str | Any,
                   include_merged: bool = False, related: bool = True,
                   actor: Actor | None = None) -> Contact:
    """`tenant`'s contact `contact_id` with its company and owner, or `NotFound` (also for
    malformed ids, other organizations' contacts and deleted ones). A merged contact is found
    only with `include_merged` (the page follows it to the surviving record).

    `related=False` is for reads that only need to know the contact is there (a list of its
    rows): no company or owner, and only the columns the checks read. With `actor`, contacts
    outside the actor's visibility limits (`people.visibility`) are `NotFound` too."""
    qs = Contact.objects.all()
    qs = visible_contacts(qs, tenant=tenant, actor=actor)
    qs = qs.select_related("company", "owner") if related else qs.only(*_CHECKED)
    try:
        contact = qs.get(tenant=tenant, pk=contact_id)
    except (Contact.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such contact.")) from None
    if contact.deleted_at is not None or contact.status == ContactStatus.DELETED:
        raise NotFound(_("No such contact."))
    if contact.status == ContactStatus.MERGED and not include_merged:
        raise NotFound(_("No such contact."))
    return contact


_CHECKED = ("id", "tenant_id", "status", "deleted_at", "merged_into_id")


@dataclass(frozen=True)
class CustomValue:
    key: str
    label: str
    value: Any
    field_type: str


def contact_aliases(*, tenant: Tenant, contact: Contact) -> list[IdentityAlias]:
    return list(IdentityAlias.objects.filter(tenant=tenant, contact=contact)
                .order_by("type", "-is_primary", "value"))


def contact_tags(*, tenant: Tenant, contact: Contact) -> list[Any]:
    return [link.tag for link in ContactTag.objects.filter(tenant=tenant, contact=contact)
            .select_related("tag").order_by("tag__name")]


def contact_custom_values(*, tenant: Tenant, contact: Contact) -> list[CustomValue]:
    """The contact's custom field values with labels in the active language, in the fields'
    order; fields without a value are left out."""
    language = (get_language() or "en").split("-")[0]
    values = []
    for definition in custom_definitions(tenant=tenant, entity_type="contact"):
        value = (contact.custom or {}).get(definition.key)
        if value in (None, "", []):
            continue
        if definition.field_type in ("choice", "multi_choice") and definition.choices:
            labels = {c.get("value"): (c.get("label") or {}) for c in definition.choices}

            def label_of(v: Any, labels: dict[Any, Any] = labels) -> str:
                names = labels.get(v) or {}
                return str(names.get(language) or names.get("en") or v)

            value = ", ".join(label_of(v) for v in value) if isinstance(value, list) \
                else label_of(value)
        values.append(CustomValue(key=definition.key, label=definition.label_for(language),
                                  value=value, field_type=definition.field_type))
    return values


def initials(contact: Contact) -> str:
    """Up to two letters for the avatar placeholder."""
    parts = [p for p in (contact.first_name, contact.last_name) if p.strip()]
    if not parts:
        parts = (contact.display_name or contact.primary_email or "?").split()
    return "".join(p.strip()[0] for p in parts[:2]).upper() or "?"


def contact_actor_can(actor: Actor, *permissions: str) -> bool:
    return all(actor.has_perm(p) for p in permissions)
