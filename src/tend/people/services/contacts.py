"""Creating, changing and deleting contacts, and their tags.

`data` dicts are allowlists: only the keys in `EDITABLE_FIELDS` are read, anything else is
refused with a field message. Identities go through `tend.people.services.aliases`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from uuid import UUID
from zoneinfo import available_timezones

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Membership, Tag, Tenant, User
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.people.choices import AliasType, ContactStatus, Gender, LifecycleStage
from tend.people.models import Company, Contact, ContactTag
from tend.people.services._checks import clean_custom
from tend.people.services.activities import activity_record
from tend.people.services.aliases import aliases_add_many

TEXT_FIELDS = {
    "first_name": 100, "last_name": 100, "display_name": 200, "address_line1": 200,
    "address_line2": 200, "city": 100, "state": 100, "postal_code": 20, "job_title": 100,
    "source": 100, "language": 10,
}
EDITABLE_FIELDS = frozenset({
    *TEXT_FIELDS, "date_of_birth", "gender", "country", "time_zone", "status",
    "lifecycle_stage", "owner", "company", "custom",
})
_TIME_ZONES: set[str] = set()


def _time_zones() -> set[str]:
    if not _TIME_ZONES:
        _TIME_ZONES.update(available_timezones())
    return _TIME_ZONES


def computed_display_name(first_name: str, last_name: str) -> str:
    return " ".join(p for p in (first_name.strip(), last_name.strip()) if p)[:200]


def _uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def clean_country(value: Any, errors: dict[str, list[str]]) -> str | None:
    """An ISO 3166 alpha-2 code upper-cased ("" clears it), or None with an error recorded."""
    value = "" if value is None else value
    if isinstance(value, str):
        value = value.strip()
        if not value or (len(value) == 2 and value.isalpha()):
            return value.upper()
    errors["country"] = [_("Enter a two-letter country code, e.g. AE.")]
    return None


def resolve_owner(tenant: Tenant, value: Any, errors: dict[str, list[str]]) -> User | None:
    """A user who is a current member of `tenant`, from a User or an id; None for empty."""
    if value in (None, ""):
        return None
    user_id = value.pk if isinstance(value, User) else _uuid(value)
    membership = (
        Membership.objects.filter(tenant=tenant, user_id=user_id, is_active=True)
        .select_related("user").first() if user_id else None
    )
    if membership is None or not membership.is_current:
        errors["owner"] = [_("Choose a member of this organization.")]
        return None
    return membership.user


def resolve_company(tenant: Tenant, value: Any, errors: dict[str, list[str]]) -> Company | None:
    """A live company of `tenant`, from a Company or an id; None for empty."""
    if value in (None, ""):
        return None
    company_id = value.pk if isinstance(value, Company) else _uuid(value)
    company = (Company.objects.filter(tenant=tenant, pk=company_id, deleted_at__isnull=True)
               .first() if company_id else None)
    if company is None:
        errors["company"] = [_("Choose a company of this organization.")]
    return company


def _clean(tenant: Tenant, data: Any, *, partial: bool,
           current_custom: dict[str, Any] | None) -> dict[str, Any]:
    """Check `data` against the allowlist and the field rules; returns model values."""
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"data": [_("Give the contact as an object.")]})
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key in sorted(set(data) - EDITABLE_FIELDS):
        errors[str(key)] = [_("This field cannot be set.")]
    for key, limit in TEXT_FIELDS.items():
        if key not in data:
            continue
        value = data[key]
        if value is None:
            value = ""
        if not isinstance(value, str):
            errors[key] = [_("Enter text.")]
            continue
        value = " ".join(value.split()) if key != "source" else value.strip()
        if len(value) > limit:
            errors[key] = [_("Use at most %(limit)d characters.") % {"limit": limit}]
            continue
        out[key] = value
    if "date_of_birth" in data:
        value = data["date_of_birth"]
        if value in (None, ""):
            out["date_of_birth"] = None
        elif isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            out["date_of_birth"] = value
        else:
            try:
                out["date_of_birth"] = dt.date.fromisoformat(str(value))
            except ValueError:
                errors["date_of_birth"] = [_("Enter a date as YYYY-MM-DD.")]
        dob = out.get("date_of_birth")
        if dob and (dob > timezone.now().date() or dob.year < 1900):
            errors["date_of_birth"] = [_("Enter a date between 1900 and today.")]
    for key, allowed in (("gender", Gender.values), ("lifecycle_stage", LifecycleStage.values)):
        if key in data:
            value = data[key] or ""
            if value and value not in allowed:
                errors[key] = [_("Choose one of the listed options.")]
            else:
                out[key] = value
    if "status" in data:
        value = data["status"] or ContactStatus.ACTIVE
        if value not in (ContactStatus.ACTIVE, ContactStatus.INACTIVE):
            errors["status"] = [_("Choose active or inactive.")]
        else:
            out["status"] = value
    if "country" in data:
        country = clean_country(data["country"], errors)
        if country is not None:
            out["country"] = country
    if "time_zone" in data:
        value = data["time_zone"] or ""
        if value and (not isinstance(value, str) or value not in _time_zones()):
            errors["time_zone"] = [_("Choose a time zone such as Asia/Dubai.")]
        else:
            out["time_zone"] = value
    if "owner" in data:
        out["owner"] = resolve_owner(tenant, data["owner"], errors)
    if "company" in data:
        out["company"] = resolve_company(tenant, data["company"], errors)
    clean_custom(tenant, "contact", data, partial=partial, current=current_custom, out=out,
                 errors=errors)
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _as_list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationFailed(fields={field: [_("Give a list.")]})
    return list(value)


def contact_create(*, tenant: Tenant, actor: Actor, data: dict[str, Any],
                   emails: Iterable[str] = (), phones: Iterable[str] = (),
                   aliases: Iterable[dict[str, Any]] = (), tags: Iterable[Any] = ()) -> Contact:
    """Create a contact. Needs `contacts.add`.

    `data` holds the editable fields (see `EDITABLE_FIELDS`; `owner` and `company` as objects
    or ids of this organization, the owner a current member). The display name comes from the
    first and last names unless `display_name` is given. `custom` is validated in full against
    the organization's contact fields. `emails`/`phones` (the first becomes primary), `aliases`
    (`{"type", "value", "system"}`) and `tags` (Tags or ids) are attached in the same
    transaction. A contact needs a name, an email or a phone.
    """
    check_perm(actor, "contacts.add")
    values = _clean(tenant, data, partial=False, current_custom=None)
    email_list = _as_list(emails, "emails")
    phone_list = _as_list(phones, "phones")
    alias_list = _as_list(aliases, "aliases")
    tag_list = _resolve_tags(tenant, _as_list(tags, "tags"))
    items: list[tuple[str, Any, str, str]] = []
    items += [(AliasType.EMAIL, v, "", "emails") for v in email_list]
    items += [(AliasType.PHONE, v, "", "phones") for v in phone_list]
    for item in alias_list:
        if not isinstance(item, dict):
            raise ValidationFailed(fields={"aliases": [_("Give each identity as an object "
                                                         "with type and value.")]})
        items.append((item.get("type", ""), item.get("value"), item.get("system") or "",
                      "aliases"))
    custom_name = bool(values.get("display_name"))
    computed = computed_display_name(values.get("first_name", ""), values.get("last_name", ""))
    if not custom_name:
        values["display_name"] = computed
    if not values["display_name"] and not items:
        raise ValidationFailed(fields={"first_name": [_("Give a name, an email or a phone.")]})
    with transaction.atomic():
        contact = Contact.objects.create(
            tenant=tenant, display_name_custom=custom_name, created_by=actor.acting_user,
            updated_by=actor.acting_user, **values,
        )
        aliases_add_many(tenant=tenant, actor=actor, contact=contact, items=items)
        for tag in tag_list:
            ContactTag.objects.create(tenant=tenant, contact=contact, tag=tag,
                                      created_by=actor.acting_user)
        audit_record(tenant=tenant, actor=actor, action="contact.created",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"fields": sorted(k for k, v in values.items() if v not in
                                               ("", None, {})),
                              "aliases": len(items), "tags": [str(t.pk) for t in tag_list]})
        activity_record(tenant=tenant, actor=actor, contact=contact, type="CONTACT_CREATED",
                        category="SYSTEM", title=str(contact), source=values.get("source", ""))
    return contact


def _comparable(value: Any) -> Any:
    return value.pk if hasattr(value, "pk") else value


def contact_update(*, tenant: Tenant, actor: Actor, contact: Contact, data: dict[str, Any],
                   partial: bool = True) -> Contact:
    """Change a live contact's fields. Needs `contacts.change`.

    With `partial=True` only the keys in `data` change and `custom` is a patch (an empty value
    removes a key); with `partial=False` absent fields are cleared and `custom` is replaced.
    Giving `display_name` pins it; giving it empty goes back to the computed name. Records
    CONTACT_UPDATED with the changed field names (no values) when something changed.
    """
    check_perm(actor, "contacts.change")
    _check_contact(tenant, contact)
    if contact.status in (ContactStatus.MERGED, ContactStatus.DELETED) or contact.deleted_at:
        raise ValidationFailed(fields={"contact": [_("This contact was deleted or merged.")]})
    if not partial and isinstance(data, dict):
        data = {**{k: None for k in TEXT_FIELDS if k != "display_name"},
                "date_of_birth": None, "gender": "", "country": "", "time_zone": "",
                "lifecycle_stage": "", "owner": None, "company": None, "custom": {}, **data}
    values = _clean(tenant, data, partial=partial, current_custom=contact.custom)
    if "display_name" in values:
        contact.display_name_custom = bool(values["display_name"])
    first = values.get("first_name", contact.first_name)
    last = values.get("last_name", contact.last_name)
    if not contact.display_name_custom:
        values["display_name"] = computed_display_name(first, last)
    changed = sorted(k for k, v in values.items()
                     if _comparable(getattr(contact, k)) != _comparable(v))
    if not changed:
        return contact
    with transaction.atomic():
        for key in changed:
            setattr(contact, key, values[key])
        contact.updated_by = actor.acting_user
        contact.save(update_fields=[*changed, "display_name_custom", "updated_by",
                                    "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="contact.updated",
                     entity_type="contact", entity_id=contact.pk, changes={"fields": changed})
        activity_record(tenant=tenant, actor=actor, contact=contact, type="CONTACT_UPDATED",
                        category="SYSTEM", title=str(contact), metadata={"fields": changed})
    return contact


def _check_contact(tenant: Tenant, contact: Contact) -> None:
    if contact.tenant_id != tenant.pk:
        raise ValidationFailed(fields={"contact": [_("Choose a contact of this organization.")]})


def contact_delete(*, tenant: Tenant, actor: Actor, contact: Contact) -> Contact:
    """Soft-delete a contact (status DELETED, `deleted_at` now); `contact_restore` undoes it.
    Needs `contacts.delete`. Merged contacts cannot be deleted (delete the survivor)."""
    check_perm(actor, "contacts.delete")
    _check_contact(tenant, contact)
    if contact.status == ContactStatus.MERGED:
        raise ValidationFailed(fields={"contact": [_("A merged contact cannot be deleted.")]})
    if contact.deleted_at:
        return contact
    with transaction.atomic():
        contact.status = ContactStatus.DELETED
        contact.deleted_at = timezone.now()
        contact.updated_by = actor.acting_user
        contact.save(update_fields=["status", "deleted_at", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="contact.deleted",
                     entity_type="contact", entity_id=contact.pk)
        _announce(tenant, contact, "deleted")
    return contact


def contact_restore(*, tenant: Tenant, actor: Actor, contact: Contact) -> Contact:
    """Bring a soft-deleted contact back as ACTIVE. Needs `contacts.delete`."""
    check_perm(actor, "contacts.delete")
    _check_contact(tenant, contact)
    if not contact.deleted_at and contact.status != ContactStatus.DELETED:
        return contact
    with transaction.atomic():
        contact.status = ContactStatus.ACTIVE
        contact.deleted_at = None
        contact.updated_by = actor.acting_user
        contact.save(update_fields=["status", "deleted_at", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="contact.restored",
                     entity_type="contact", entity_id=contact.pk)
        _announce(tenant, contact, "updated")
    return contact


def _announce(tenant: Tenant, contact: Contact, change: str) -> None:
    """`contact_changed` after commit (segments re-evaluate the contact)."""
    from tend.people.signals import contact_changed

    contact_id = contact.pk
    transaction.on_commit(lambda: contact_changed.send(
        sender=Contact, tenant=tenant, contact_id=contact_id, change=change,
        fields=[]))


# --- tags ------------------------------------------------------------------------------------


def _resolve_tags(tenant: Tenant, tags: Iterable[Any]) -> list[Tag]:
    """Tags of `tenant` from Tag objects or ids, in the given order, without repeats."""
    wanted: list[UUID] = []
    for item in tags:
        tag_id = item.pk if isinstance(item, Tag) else _uuid(item)
        if tag_id is None:
            raise ValidationFailed(fields={"tags": [_("Choose tags of this organization.")]})
        if tag_id not in wanted:
            wanted.append(tag_id)
    if not wanted:
        return []
    try:
        found = {t.pk: t for t in Tag.objects.filter(tenant=tenant, pk__in=wanted)}
    except DjangoValidationError:
        found = {}
    if len(found) != len(wanted):
        raise ValidationFailed(fields={"tags": [_("Choose tags of this organization.")]})
    return [found[i] for i in wanted]


def _change_tags(tenant: Tenant, actor: Actor, contact: Contact, add: list[Tag],
                 remove: list[Tag]) -> None:
    if not add and not remove:
        return
    with transaction.atomic():
        for tag in add:
            ContactTag.objects.create(tenant=tenant, contact=contact, tag=tag,
                                      created_by=actor.acting_user)
        if remove:
            ContactTag.objects.filter(tenant=tenant, contact=contact,
                                      tag__in=remove).delete()
        audit_record(tenant=tenant, actor=actor, action="contact.tags_changed",
                     entity_type="contact", entity_id=contact.pk,
                     changes={"added": [str(t.pk) for t in add],
                              "removed": [str(t.pk) for t in remove]})
        activity_record(tenant=tenant, actor=actor, contact=contact, type="CONTACT_UPDATED",
                        category="SYSTEM", title=str(contact), metadata={"fields": ["tags"]})


def _current_tag_ids(tenant: Tenant, contact: Contact) -> set[UUID]:
    return set(ContactTag.objects.filter(tenant=tenant, contact=contact)
               .values_list("tag_id", flat=True))


def contact_tags_set(*, tenant: Tenant, actor: Actor, contact: Contact,
                     tags: Iterable[Any]) -> list[Tag]:
    """Make `contact`'s tags exactly `tags` (Tags or ids of this organization). Needs
    `contacts.change`. Returns the tags now on the contact."""
    check_perm(actor, "contacts.change")
    _check_contact(tenant, contact)
    wanted = _resolve_tags(tenant, _as_list(tags, "tags"))
    current = _current_tag_ids(tenant, contact)
    wanted_ids = {t.pk for t in wanted}
    removed = list(Tag.objects.filter(tenant=tenant, pk__in=current - wanted_ids))
    _change_tags(tenant, actor, contact, [t for t in wanted if t.pk not in current], removed)
    return wanted


def contact_tags_add(*, tenant: Tenant, actor: Actor, contact: Contact,
                     tags: Iterable[Any]) -> None:
    """Add `tags` to `contact` (ones it has already are skipped). Needs `contacts.change`."""
    check_perm(actor, "contacts.change")
    _check_contact(tenant, contact)
    wanted = _resolve_tags(tenant, _as_list(tags, "tags"))
    current = _current_tag_ids(tenant, contact)
    _change_tags(tenant, actor, contact, [t for t in wanted if t.pk not in current], [])


def contact_tags_remove(*, tenant: Tenant, actor: Actor, contact: Contact,
                        tags: Iterable[Any]) -> None:
    """Remove `tags` from `contact` (ones it lacks are skipped). Needs `contacts.change`."""
    check_perm(actor, "contacts.change")
    _check_contact(tenant, contact)
    wanted = _resolve_tags(tenant, _as_list(tags, "tags"))
    current = _current_tag_ids(tenant, contact)
    _change_tags(tenant, actor, contact, [], [t for t in wanted if t.pk in current])


def contact_edit(*, tenant: Tenant, actor: Actor, contact: Contact, data: dict[str, Any],
                 emails: list[str], phones: list[str], tags: Iterable[Any]) -> Contact:
    """Save the contact form in one transaction: fields (`contact_update`, partial), the email
    and phone lists (the first of each primary; see `aliases_set`) and the tags. Needs
    `contacts.change`. Identity errors are keyed `emails`/`phones`."""
    from tend.people.services.aliases import aliases_set

    with transaction.atomic():
        contact_update(tenant=tenant, actor=actor, contact=contact, data=data)
        changed = aliases_set(tenant=tenant, actor=actor, contact=contact,
                              type=AliasType.EMAIL, values=emails, field="emails")
        changed = aliases_set(tenant=tenant, actor=actor, contact=contact,
                              type=AliasType.PHONE, values=phones, field="phones") or changed
        if changed:
            activity_record(tenant=tenant, actor=actor, contact=contact,
                            type="CONTACT_UPDATED", category="SYSTEM", title=str(contact),
                            metadata={"fields": ["identities"]})
        contact_tags_set(tenant=tenant, actor=actor, contact=contact, tags=tags)
    return contact
