"""Background work of campaigns: a due run, an activity a campaign reacts to, and the tick
that finds due campaigns, completes drained ones and keeps statistics fresh."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from tend.core.background import enqueue_on_commit, tenant_task
from tend.core.models import Tenant

# Active campaigns' statistics are recomputed by the tick when older than this.
STATS_MAX_AGE = timedelta(minutes=5)


@tenant_task
def campaign_run_task(tenant: Tenant, campaign_id: str) -> int:
    """Run one campaign if it is (still) due; idempotent (`campaign_run` checks under lock)."""
    from tend.marketing.services.campaigns import campaign_run

    run = campaign_run(tenant=tenant, campaign_id=campaign_id)
    return run.target_count if run is not None else 0


@tenant_task
def campaign_activity_task(tenant: Tenant, activity_id: str) -> None:
    """Send triggered campaigns and count conversions and unsubscribes for one activity."""
    from tend.marketing.services.tracking import on_activity
    from tend.people.models import Activity

    activity = Activity.objects.filter(tenant=tenant, pk=activity_id).first()
    if activity is not None:
        on_activity(tenant=tenant, activity=activity)


@tenant_task
def campaigns_housekeeping_task(tenant: Tenant) -> int:
    """Complete the organization's drained campaigns and refresh stale statistics."""
    from django.utils import timezone

    from tend.marketing.models import Campaign, CampaignStatus
    from tend.marketing.services.campaigns import campaigns_complete_drained
    from tend.marketing.services.tracking import campaign_stats_refresh

    done = campaigns_complete_drained(tenant=tenant)
    stale = timezone.now() - STATS_MAX_AGE
    for campaign in Campaign.objects.filter(tenant=tenant).filter(
            Q(status=CampaignStatus.ACTIVE) | Q(completed_at__gte=stale)).filter(
            Q(stats_at__isnull=True) | Q(stats_at__lt=stale)):
        campaign_stats_refresh(tenant=tenant, campaign=campaign)
    return done


def campaigns_due_tick(due_at: datetime) -> int:
    """Periodic: enqueue a run for every due campaign, and housekeeping for organizations
    with active campaigns. Runs under `system_scope()`."""
    from tend.marketing.models import Campaign, CampaignStatus

    due = (Campaign.objects.filter(next_run_at__lte=due_at, tenant__is_active=True,
                                   status__in=[CampaignStatus.SCHEDULED, CampaignStatus.ACTIVE])
           .order_by("next_run_at").values_list("tenant_id", "pk"))
    count = 0
    for tenant_id, campaign_id in due:
        enqueue_on_commit(campaign_run_task, str(tenant_id), str(campaign_id))
        count += 1
    active = (Campaign.objects.filter(status=CampaignStatus.ACTIVE, tenant__is_active=True)
              .order_by().values_list("tenant_id", flat=True).distinct())
    for tenant_id in active:
        enqueue_on_commit(campaigns_housekeeping_task, str(tenant_id))
    return count


def on_activity_recorded(sender: Any, tenant: Any, activity: Any, **kwargs: Any) -> None:
    """Cheap: one indexed query decides whether any campaign cares about this activity."""
    from tend.marketing.models import Campaign, CampaignStatus, CampaignType

    if activity.contact_id is None:
        return
    cares = activity.type == "CONSENT_CHANGED" or Campaign.objects.filter(tenant=tenant).filter(
        Q(trigger_activity_type=activity.type, type=CampaignType.TRIGGERED,
          status=CampaignStatus.ACTIVE)
        | Q(conversion_activity_type=activity.type)).exists()
    if cares:
        enqueue_on_commit(campaign_activity_task, str(tenant.pk), str(activity.pk))


def on_message_status_changed(sender: Any, tenant: Any, message: Any, status: str,
                              previous: str, **kwargs: Any) -> None:
    from tend.core.tenancy import tenant_scope
    from tend.marketing.services.tracking import on_message_status

    if message.source != "campaign":
        return
    with tenant_scope(tenant):
        on_message_status(tenant=tenant, message=message, status=status, previous=previous)
