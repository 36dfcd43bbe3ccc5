"""Reading consent and its history."""

from __future__ import annotations

from django.db.models import QuerySet

from tend.core.models import Tenant
from tend.people.models import Consent, ConsentEvent, Contact

HISTORY_ORDERING = ("-occurred_at", "-id")


def consent_list(*, tenant: Tenant, contact: Contact) -> QuerySet[Consent]:
    """The contact's current consents by channel and purpose."""
    return Consent.objects.filter(tenant=tenant, contact=contact).order_by("channel", "purpose")


def consent_history(*, tenant: Tenant, contact: Contact) -> QuerySet[ConsentEvent]:
    """Every consent change of the contact, newest first."""
    return (ConsentEvent.objects.filter(tenant=tenant, contact=contact)
            .order_by(*HISTORY_ORDERING))
