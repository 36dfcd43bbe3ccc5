"""Background work of reminders, social posts and outbound webhooks: the periodic ticks (which
enqueue per-organization tasks or claim due rows themselves) and the receivers that turn
people and messaging events into webhook deliveries."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tend.core.background import enqueue_on_commit, tenant_task
from tend.core.models import Tenant

logger = logging.getLogger(__name__)


def _enqueue_per_tenant(task: Any, rows: Any) -> int:
    """Enqueue `task` (after commit) once for each active organization owning one of `rows`
    (a queryset of tenant-owned rows); how many were enqueued."""
    tenants = (rows.filter(tenant__is_active=True).order_by()
               .values_list("tenant_id", flat=True).distinct())
    count = 0
    for tenant_id in tenants:
        enqueue_on_commit(task, str(tenant_id))
        count += 1
    return count


# --- reminders -------------------------------------------------------------------------------


@tenant_task
def reminders_generate_task(tenant: Tenant) -> int:
    from tend.marketing.services.reminders import reminders_generate

    return reminders_generate(tenant=tenant)


@tenant_task
def reminders_digest_task(tenant: Tenant) -> int:
    from tend.marketing.services.reminders import reminders_digest_run

    return reminders_digest_run(tenant=tenant)


def reminders_tick(due_at: datetime) -> int:
    """Periodic: evaluate the reminder rules of every organization that has active ones."""
    from tend.marketing.models import ReminderRule

    return _enqueue_per_tenant(reminders_generate_task,
                               ReminderRule.objects.filter(is_active=True))


def reminders_digest_tick(due_at: datetime) -> int:
    """Periodic: send the digests that are due (each staff member's local digest hour)."""
    from tend.marketing.models import Reminder, ReminderStatus

    return _enqueue_per_tenant(reminders_digest_task,
                               Reminder.objects.filter(status=ReminderStatus.OPEN))


# --- social posts ------------------------------------------------------------------------------


@tenant_task
def social_publish_task(tenant: Tenant) -> int:
    from tend.marketing.services.social import social_publish_due

    return social_publish_due(tenant=tenant)


@tenant_task
def social_metrics_task(tenant: Tenant) -> int:
    from tend.marketing.services.social import social_metrics_sync

    return social_metrics_sync(tenant=tenant)


def social_publish_tick(due_at: datetime) -> int:
    """Periodic: publish every due post (claimed with SKIP LOCKED, so ticks on several
    workers share the work)."""
    from tend.marketing.services.social import social_publish_due

    return social_publish_due()


def social_metrics_tick(due_at: datetime) -> int:
    """Periodic: sync engagement for organizations with recently published posts."""
    from datetime import timedelta

    from tend.marketing.models import SocialPostTarget, SocialTargetStatus

    return _enqueue_per_tenant(social_metrics_task, SocialPostTarget.objects.filter(
        status=SocialTargetStatus.PUBLISHED, published_at__gte=due_at - timedelta(days=30)))


# --- outbound webhooks -------------------------------------------------------------------------


@tenant_task
def webhooks_deliver_task(tenant: Tenant) -> int:
    """Send the organization's due deliveries now (woken by `webhook_emit`)."""
    from tend.marketing.services.webhooks_out import webhooks_deliver_due

    return webhooks_deliver_due(tenant=tenant)


def webhooks_tick(due_at: datetime) -> int:
    """Periodic: send due deliveries of every organization (retries, missed wake-ups)."""
    from tend.marketing.services.webhooks_out import webhooks_deliver_due

    return webhooks_deliver_due()


def _emit(tenant: Any, key: str, payload: dict[str, Any]) -> None:
    from tend.marketing.services.webhooks_out import webhook_emit

    try:
        webhook_emit(tenant=tenant, key=key, payload=payload)
    except Exception:  # a webhook problem must never break the change that caused it
        logger.exception("webhook %s not queued", key)


CONTACT_EVENTS = {"CONTACT_CREATED": "contact.created", "CONTACT_UPDATED": "contact.updated",
                  "CONTACT_MERGED": "contact.merged"}
CONTACT_FIELDS = ("id", "display_name", "first_name", "last_name", "primary_email",
                  "primary_phone", "status", "lifecycle_stage", "owner_id", "merged_into_id",
                  "created_at", "updated_at")


def _contact_payload(tenant: Any, contact_id: Any, fields: Any = None) -> dict[str, Any]:
    from tend.core.tenancy import tenant_scope
    from tend.people.models import Contact

    with tenant_scope(tenant):
        row = Contact.objects.filter(tenant=tenant, pk=contact_id).values(*CONTACT_FIELDS
                                                                           ).first()
    fields = fields if isinstance(fields, list) else []
    return {"contact": row or {"id": contact_id}, "fields": sorted(str(f) for f in fields)}


def on_activity_recorded(sender: Any, tenant: Any, activity: Any, **kwargs: Any) -> None:
    """activity.recorded, and contact.created / updated / merged from the activities every
    such change records (after commit)."""
    from tend.marketing.services.webhooks_out import is_listened

    key = CONTACT_EVENTS.get(activity.type)
    if key and activity.contact_id is not None and is_listened(tenant, key):
        _emit(tenant, key, _contact_payload(tenant, activity.contact_id,
                                            (activity.metadata or {}).get("fields")))
    _emit(tenant, "activity.recorded", {
        "activity": {"id": activity.pk, "type": activity.type,
                     "contact_id": activity.contact_id,
                     "category": activity.category, "channel": activity.channel,
                     "title": activity.title, "occurred_at": activity.occurred_at,
                     "source": activity.source, "metadata": activity.metadata or {}}})


def on_message_status_changed(sender: Any, tenant: Any, message: Any, status: str,
                              previous: str, **kwargs: Any) -> None:
    """message.status."""
    _emit(tenant, "message.status", {
        "message": {"id": message.pk, "contact_id": message.contact_id,
                    "channel": message.channel, "direction": message.direction,
                    "purpose": message.purpose, "source": message.source,
                    "provider_message_id": getattr(message, "provider_message_id", "")},
        "status": status, "previous": previous})
