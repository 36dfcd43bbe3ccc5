"""Reading logged interactions."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from tend.core.models import Tenant, User
from tend.people.models import Contact, Interaction

INTERACTION_ORDERING = ("-occurred_at", "-id")


def interaction_list(*, tenant: Tenant, contact: Contact) -> QuerySet[Interaction]:
    """The contact's interactions, newest first, with who logged them."""
    return (Interaction.objects.filter(tenant=tenant, contact=contact).select_related("staff")
            .order_by(*INTERACTION_ORDERING))


def follow_ups_due(*, tenant: Tenant, user: User, until: date) -> QuerySet[Interaction]:
    """Interactions `user` logged whose follow-up date is on or before `until`, soonest first,
    for live contacts."""
    return (Interaction.objects.filter(tenant=tenant, staff=user, follow_up_on__lte=until,
                                       contact__deleted_at__isnull=True,
                                       contact__status__in=("ACTIVE", "INACTIVE"))
            .select_related("contact").order_by("follow_up_on", "id"))
