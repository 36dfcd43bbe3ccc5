"""Contacts: list (search, filters, sort), create, read, change, delete and restore; their
identities (add, remove, make primary, verify) and tags."""

from __future__ import annotations

import datetime as dt
from importlib import import_module
from typing import Any
from uuid import UUID

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.people.models import Contact, IdentityAlias
from tend.people.selectors.contacts import contact_get, contact_list, contact_sort, contact_tags
from tend.people.services.aliases import alias_add, alias_remove, alias_set_primary, alias_verify
from tend.people.services.contacts import (
    contact_create,
    contact_delete,
    contact_restore,
    contact_tags_add,
    contact_tags_remove,
    contact_tags_set,
    contact_update,
)

router = Router(tags=["Contacts"])

# API names of the service's fields (the service speaks of objects, the API of their ids).
RENAMED = {"owner": "owner_id", "company": "company_id"}


# --- output ----------------------------------------------------------------------------------


class AliasOut(Schema):
    id: UUID
    type: str
    system: str
    value: str
    is_primary: bool
    verified_at: dt.datetime | None
    source: str
    created_at: dt.datetime


class TagRef(Schema):
    id: UUID
    name: str
    color: str


class CompanyRef(Schema):
    id: UUID
    name: str


class ConsentFlags(Schema):
    email: bool
    sms: bool
    whatsapp: bool
    telegram: bool


class Metrics(Schema):
    last_activity_at: dt.datetime | None
    last_activity_type: str
    activity_count_30d: int
    activity_count_90d: int
    last_contacted_at: dt.datetime | None
    engagement_score: int | None
    churn_risk_score: int | None
    lifetime_value_minor: int
    lifetime_value_currency: str


class ContactOut(Schema):
    id: UUID
    display_name: str
    display_name_custom: bool
    first_name: str
    last_name: str
    date_of_birth: dt.date | None
    gender: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    postal_code: str
    country: str
    language: str
    time_zone: str
    status: str
    lifecycle_stage: str
    owner_id: UUID | None
    company: CompanyRef | None
    job_title: str
    source: str
    primary_email: str
    primary_phone: str
    custom: dict[str, Any]
    aliases: list[AliasOut]
    tags: list[TagRef]
    consent: ConsentFlags = Field(description="Marketing consent per channel (read-only).")
    metrics: Metrics
    merged_into_id: UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None

    @staticmethod
    def resolve_aliases(obj: Contact) -> list[IdentityAlias]:
        return list(obj.aliases.all())

    @staticmethod
    def resolve_tags(obj: Contact) -> list[Any]:
        return contact_tags(obj)

    @staticmethod
    def resolve_consent(obj: Contact) -> dict[str, bool]:
        return {"email": obj.email_opt_in, "sms": obj.sms_opt_in,
                "whatsapp": obj.whatsapp_opt_in, "telegram": obj.telegram_opt_in,
                "web": obj.web_opt_in}

    @staticmethod
    def resolve_metrics(obj: Contact) -> Contact:
        return obj


class DuplicateOut(Schema):
    contact_id: UUID
    display_name: str
    score: int = Field(description="0-100: how alike the two are.")
    matched_fields: list[str]


class ContactCreatedOut(ContactOut):
    possible_duplicates: list[DuplicateOut] = Field(
        description="Existing contacts that may be the same person.")


# --- input -----------------------------------------------------------------------------------


class AliasIn(Schema):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="EMAIL, PHONE, TELEGRAM, WHATSAPP, AUTH_USER or EXTERNAL")
    value: str = Field(max_length=254)
    system: str = Field("", max_length=50, description="Names the system of an EXTERNAL id.")
    is_primary: bool = False
    verified: bool = False


class ContactFields(Schema):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    display_name: str | None = Field(
        None, max_length=200, description="Pins the display name; empty goes back to the "
        "name computed from first and last names.")
    date_of_birth: dt.date | None = None
    gender: str | None = Field(None, description="FEMALE, MALE, OTHER, UNDISCLOSED or empty")
    address_line1: str | None = Field(None, max_length=200)
    address_line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    state: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2, description="ISO 3166 code")
    language: str | None = Field(None, max_length=10)
    time_zone: str | None = Field(None, max_length=64, description="e.g. Asia/Dubai")
    status: str | None = Field(None, description="ACTIVE or INACTIVE")
    lifecycle_stage: str | None = None
    owner_id: UUID | None = Field(None, description="A member of this organization.")
    company_id: UUID | None = Field(None, description="A company of this organization.")
    job_title: str | None = Field(None, max_length=100)
    source: str | None = Field(None, max_length=100)
    custom: dict[str, Any] | None = Field(
        None, description="Custom field values by key (see /custom-fields).")


class ContactIn(ContactFields):
    emails: list[str] = Field(default_factory=list, max_length=20,
                              description="The first becomes the primary email.")
    phones: list[str] = Field(default_factory=list, max_length=20,
                              description="The first becomes the primary phone.")
    aliases: list[AliasIn] = Field(default_factory=list, max_length=20)
    tag_ids: list[UUID] = Field(default_factory=list, max_length=100)


class ContactFilter(Schema):
    q: str | None = Field(None, max_length=200, description="Name, email or phone.")
    status: str | None = None
    lifecycle_stage: str | None = Field(None, description="A stage, or `none`.")
    owner: str | None = Field(None, description="A user id, `me` or `none`.")
    tag: UUID | None = None
    company: str | None = Field(None, description="A company id or `none`.")
    created_after: dt.date | None = None
    created_before: dt.date | None = None
    has_email: bool | None = None
    has_phone: bool | None = None
    custom: list[str] = Field(
        default_factory=list,
        description="`key=value`, repeatable: custom field equals; for a multi-choice field, "
                    "it holds the value (repeat the key for any of several).")
    include_deleted: bool = False
    sort: str | None = Field(None, description="name, -name, created, -created, "
                                               "last_activity, -last_activity")


class TagIdsIn(Schema):
    model_config = ConfigDict(extra="forbid")

    tag_ids: list[UUID] = Field(max_length=100)


# --- helpers ---------------------------------------------------------------------------------


def _service_data(fields: dict[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in fields.items() if k not in ("emails", "phones", "aliases",
                                                         "tag_ids")}
    for service_name, api_name in RENAMED.items():
        if api_name in data:
            data[service_name] = data.pop(api_name)
    return data


def _api_errors(exc: ValidationFailed) -> ValidationFailed:
    """The service's error with fields named as the API names them."""
    fields = {RENAMED.get(k, k): v for k, v in exc.fields.items()}
    return ValidationFailed(exc.message, fields=fields)


def _filters(filters: ContactFilter) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for item in filters.custom:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValidationFailed(fields={"custom": [_("Give custom filters as key=value.")]})
        if key in custom:  # a key given again: any of the values (multi-choice fields)
            previous = custom[key]
            custom[key] = [*(previous if isinstance(previous, list) else [previous]), value]
        else:
            custom[key] = value
    out = filters.model_dump(exclude={"q", "sort", "custom"}, exclude_none=True)
    if custom:
        out["custom"] = custom
    return out


def _contact(request: ApiRequest, contact_id: UUID) -> Contact:
    return contact_get(tenant=request.tenant, contact_id=contact_id,
                       actor=request.actor)


def _alias(contact: Contact, alias_id: UUID) -> IdentityAlias:
    for alias in contact.aliases.all():
        if alias.pk == alias_id:
            return alias
    raise NotFound(_("No such identity."))


def possible_duplicates(contact: Contact) -> list[dict[str, Any]]:
    """What the duplicates module finds for a new contact ([] when it offers no finder)."""
    try:
        module = import_module("tend.people.services.duplicates")
    except ModuleNotFoundError:
        return []
    finder = getattr(module, "duplicates_for_new_contact", None)
    return list(finder(contact)) if finder is not None else []


# --- contacts --------------------------------------------------------------------------------


@router.get("/contacts", response=Page[ContactOut])
def contacts_list(request: ApiRequest, page: Query[PageParams], filters: Query[ContactFilter]):
    """Contacts matching `q` (name, email or phone) and the filters; merged and deleted ones
    only when asked for. Needs `contacts.view`."""
    actor = require(request, "contacts.view")
    tenant = request.tenant
    contacts = contact_list(tenant=tenant, actor=actor, search=filters.q or "",
                            filters=_filters(filters), sort=filters.sort or "").prefetch_related(
        Prefetch("aliases", queryset=IdentityAlias.objects.filter(tenant=tenant)))
    return paginate(contacts, page, ordering=contact_sort(filters.sort or ""))


@router.post("/contacts", response={201: ContactCreatedOut})
def contacts_create(request: ApiRequest, payload: ContactIn):
    """Create a contact with its emails, phones, other identities and tags. The answer lists
    `possible_duplicates`. Needs `contacts.add`."""
    actor = require(request, "contacts.add")
    tenant = request.tenant
    sent = payload.model_dump(exclude_unset=True)
    try:
        contact = contact_create(
            tenant=tenant, actor=actor, data=_service_data(sent), emails=payload.emails,
            phones=payload.phones, aliases=[a.model_dump() for a in payload.aliases],
            tags=payload.tag_ids)
    except ValidationFailed as exc:
        raise _api_errors(exc) from None
    contact = contact_get(tenant=tenant, contact_id=contact.pk)
    contact.possible_duplicates = possible_duplicates(contact)  # type: ignore[attr-defined]
    return Status(201, contact)


@router.get("/contacts/{contact_id}", response=ContactOut)
def contacts_get(request: ApiRequest, contact_id: UUID):
    """One contact (also merged or deleted ones: see `status`). Needs `contacts.view`."""
    require(request, "contacts.view")
    return _contact(request, contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut)
def contacts_update(request: ApiRequest, contact_id: UUID, payload: ContactFields):
    """Change the fields sent; `custom` is a patch (an empty value removes a key). Needs
    `contacts.change`."""
    actor = require(request, "contacts.change")
    contact = _contact(request, contact_id)
    try:
        contact_update(tenant=request.tenant, actor=actor, contact=contact,
                       data=_service_data(payload.model_dump(exclude_unset=True)))
    except ValidationFailed as exc:
        raise _api_errors(exc) from None
    return _contact(request, contact_id)


@router.delete("/contacts/{contact_id}", response={204: None})
def contacts_delete(request: ApiRequest, contact_id: UUID):
    """Move a contact to the bin (restorable). Needs `contacts.delete`."""
    actor = require(request, "contacts.delete")
    contact_delete(tenant=request.tenant, actor=actor, contact=_contact(request, contact_id))
    return Status(204, None)


@router.post("/contacts/{contact_id}/restore", response=ContactOut)
def contacts_restore(request: ApiRequest, contact_id: UUID):
    """Bring a deleted contact back. Needs `contacts.delete`."""
    actor = require(request, "contacts.delete")
    contact_restore(tenant=request.tenant, actor=actor, contact=_contact(request, contact_id))
    return _contact(request, contact_id)


# --- identities ------------------------------------------------------------------------------


@router.post("/contacts/{contact_id}/aliases", response={201: AliasOut})
def aliases_add(request: ApiRequest, contact_id: UUID, payload: AliasIn):
    """Add an email, phone or other identity. A value another contact holds is refused (422).
    Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    alias = alias_add(tenant=request.tenant, actor=actor,
                      contact=_contact(request, contact_id), **payload.model_dump())
    return Status(201, alias)


@router.delete("/contacts/{contact_id}/aliases/{alias_id}", response={204: None})
def aliases_remove(request: ApiRequest, contact_id: UUID, alias_id: UUID):
    """Remove an identity; the next one of its type becomes primary. Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    contact = _contact(request, contact_id)
    alias_remove(tenant=request.tenant, actor=actor, contact=contact,
                 alias=_alias(contact, alias_id))
    return Status(204, None)


@router.post("/contacts/{contact_id}/aliases/{alias_id}/primary", response=AliasOut)
def aliases_set_primary(request: ApiRequest, contact_id: UUID, alias_id: UUID):
    """Make an identity the primary one of its type. Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    contact = _contact(request, contact_id)
    return alias_set_primary(tenant=request.tenant, actor=actor, contact=contact,
                             alias=_alias(contact, alias_id))


@router.post("/contacts/{contact_id}/aliases/{alias_id}/verify", response=AliasOut)
def aliases_verify(request: ApiRequest, contact_id: UUID, alias_id: UUID):
    """Mark an identity verified. Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    contact = _contact(request, contact_id)
    return alias_verify(tenant=request.tenant, actor=actor, contact=contact,
                        alias=_alias(contact, alias_id))


# --- tags ------------------------------------------------------------------------------------


@router.get("/contacts/{contact_id}/tags", response=list[TagRef])
def contact_tags_list(request: ApiRequest, contact_id: UUID):
    """The contact's tags, by name. Needs `contacts.view`."""
    require(request, "contacts.view")
    return contact_tags(_contact(request, contact_id))


@router.put("/contacts/{contact_id}/tags", response=list[TagRef])
def contact_tags_replace(request: ApiRequest, contact_id: UUID, payload: TagIdsIn):
    """Make the contact's tags exactly `tag_ids`. Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    contact_tags_set(tenant=request.tenant, actor=actor, contact=_contact(request, contact_id),
                     tags=payload.tag_ids)
    return contact_tags(_contact(request, contact_id))


@router.post("/contacts/{contact_id}/tags", response=list[TagRef])
def contact_tags_append(request: ApiRequest, contact_id: UUID, payload: TagIdsIn):
    """Add tags (ones the contact has already are skipped). Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    contact_tags_add(tenant=request.tenant, actor=actor, contact=_contact(request, contact_id),
                     tags=payload.tag_ids)
    return contact_tags(_contact(request, contact_id))


@router.delete("/contacts/{contact_id}/tags/{tag_id}", response={204: None})
def contact_tags_delete(request: ApiRequest, contact_id: UUID, tag_id: UUID):
    """Remove one tag from the contact. Needs `contacts.change`."""
    actor = require(request, "contacts.change")
    contact = _contact(request, contact_id)
    if tag_id not in {t.pk for t in contact_tags(contact)}:
        raise NotFound(_("The contact does not have this tag."))
    contact_tags_remove(tenant=request.tenant, actor=actor, contact=contact, tags=[tag_id])
    return Status(204, None)
