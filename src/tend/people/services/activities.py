"""Recording activities: the one event stream."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.people.models import Activity, Company, Contact
from tend.people.signals import activity_recorded

MAX_TYPE = 100


def activity_record(
    *,
    tenant: Tenant,
    actor: Actor,
    type: str,
    contact: Contact | None = None,
    company: Company | None = None,
    category: str = "",
    channel: str = "",
    title: str = "",
    description: str = "",
    metadata: dict[str, Any] | None = None,
    source: str = "",
    source_id: str = "",
    source_event_id: str | None = None,
    occurred_at: datetime | None = None,
    related: Any = None,
) -> tuple[Activity, bool]:
    """Append an activity about `contact` (and/or `company`); returns (activity, created).

    Call inside the transaction of the change it records. With `source_event_id`, a second
    call with the same `(source, source_event_id)` returns the existing activity and
    `created=False` (idempotent ingestion). Updates the contact's activity metrics.
    `activity_recorded` is sent after commit.
    """
    type = (type or "").strip().upper()
    if not type or len(type) > MAX_TYPE:
        raise ValidationFailed(fields={"type": ["Give an activity type (at most 100 characters)."]})
    if contact is None and company is None:
        raise ValidationFailed(fields={"contact": ["An activity is about a contact or a company."]})
    occurred_at = occurred_at or timezone.now()
    if source_event_id is not None:
        existing = Activity.objects.filter(
            tenant=tenant, source=source, source_event_id=source_event_id
        ).first()
        if existing is not None:
            return existing, False
    related_type = related_id = ""
    if related is not None:
        related_type = related._meta.label_lower
        related_id = str(related.pk)
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                tenant=tenant, contact=contact, company=company, type=type,
                category=category, channel=channel, title=title[:300],
                description=description, metadata=metadata or {}, source=source,
                source_id=source_id, source_event_id=source_event_id, occurred_at=occurred_at,
                processed_at=timezone.now(), actor_user=actor.acting_user,
                actor_label=actor.label[:200], related_type=related_type, related_id=related_id,
                created_by=actor.acting_user,
            )
    except IntegrityError:
        # Lost a race with the same event: the other insert won.
        existing = Activity.objects.filter(
            tenant=tenant, source=source, source_event_id=source_event_id
        ).first()
        if existing is None:
            raise
        return existing, False
    if contact is not None:
        _bump_contact_metrics(contact=contact, activity=activity)
    transaction.on_commit(
        lambda: activity_recorded.send(sender=Activity, tenant=tenant, activity=activity)
    )
    return activity, True


def _bump_contact_metrics(*, contact: Contact, activity: Activity) -> None:
    now = timezone.now()
    updates: dict[str, Any] = {}
    if activity.occurred_at >= now - timedelta(days=30):
        updates["activity_count_30d"] = F("activity_count_30d") + 1
    if activity.occurred_at >= now - timedelta(days=90):
        updates["activity_count_90d"] = F("activity_count_90d") + 1
    Contact.objects.filter(pk=contact.pk).update(**updates) if updates else None
    # Only move "last activity" forward (late-arriving old events don't rewind it).
    Contact.objects.filter(pk=contact.pk).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=activity.occurred_at)
    ).update(last_activity_at=activity.occurred_at, last_activity_type=activity.type)
