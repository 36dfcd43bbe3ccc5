"""Helpers shared by the contact-page API areas (timeline, notes, interactions, tasks,
consents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Schema

from tend.core.api.base import ApiRequest
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import Membership, User
from tend.people.models import Company, Contact
from tend.people.selectors.contact_page import access_contact
from tend.people.selectors.contacts import company_get


class UserRef(Schema):
    id: UUID
    email: str
    full_name: str


def contact_of(request: ApiRequest, contact_id: UUID) -> Contact:
    """The caller's organization's live contact `contact_id` the caller may see, else a 404."""
    return access_contact(tenant=request.tenant, contact_id=contact_id,
                          actor=request.actor)


def contact_in_body(request: ApiRequest, contact_id: UUID | None,
                    field: str = "contact_id") -> Contact | None:
    """A contact named in a body: one of this organization's, else a field error (422)."""
    if contact_id is None:
        return None
    try:
        return access_contact(tenant=request.tenant, contact_id=contact_id,
                              actor=request.actor)
    except NotFound:  # another organization's, a deleted or a merged contact
        raise ValidationFailed(fields={field: [_("Choose a contact of this organization.")]}) \
            from None


def company_in_body(request: ApiRequest, company_id: UUID | None,
                    field: str = "company_id") -> Company | None:
    """A company named in a body: one of this organization's, else a field error (422)."""
    if company_id is None:
        return None
    try:
        return company_get(tenant=request.tenant, company_id=company_id)
    except NotFound:
        raise ValidationFailed(fields={field: [_("Choose a company of this organization.")]}) \
            from None


def member_user(request: ApiRequest, user_id: UUID | None, field: str = "assignee_id"
                ) -> User | None:
    """A user named in a body: a member of this organization, else a field error (422).
    (Whether the membership is current is the service's check.)"""
    if user_id is None:
        return None
    membership = (Membership.objects.filter(tenant=request.tenant, user_id=user_id)
                  .select_related("user").first())
    if membership is None:
        raise ValidationFailed(fields={field: [_("Choose a member of this organization.")]})
    return membership.user


def aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValidationFailed(fields={field: [_("Give a time zone (e.g. Z or +03:00).")]})
    return value


def fields_set(payload: Any) -> set[str]:
    return set(payload.model_fields_set)
