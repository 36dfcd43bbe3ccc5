"""The pods part's periodic work, per organization that has pods or commitments: meetings
generated two weeks ahead, a reminder the day before each meeting, the "were you there?"
question after it, a daily commitment check-in to people with open commitments, and streaks
that lapse. Every message has a dedupe key, so ticks may run twice or in parallel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone
from django.utils.translation import gettext as _

from tend.community.models import (
    Commitment,
    CommitmentStatus,
    Pod,
    PodMeeting,
    PodMembership,
    PodsProfile,
    PodStatus,
)
from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.tenancy import system_scope, tenant_scope
from tend.people.models import Contact

DAILY_HOUR = 18  # the daily commitment check-in goes out from 18:00, organization time


def zone_of(tenant: Tenant) -> ZoneInfo:
    try:
        return ZoneInfo(tenant.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def pods_tick(due_at: datetime) -> int:
    with system_scope():
        tenant_ids = set(Pod.objects.values_list("tenant_id", flat=True).distinct()) | set(
            PodsProfile.objects.values_list("tenant_id", flat=True).distinct())
        tenants = list(Tenant.objects.filter(pk__in=tenant_ids))
    done = 0
    for tenant in tenants:
        with tenant_scope(tenant):
            done += pods_tick_tenant(tenant=tenant, now=due_at)
    return done


def _send(tenant: Tenant, contact: Contact, body: str, key: str) -> int:
    from tend.community.services.matching import contact_channel
    from tend.messaging.services.outbox import message_enqueue

    channel = contact_channel(contact)
    if channel is None:
        return 0
    _msg, created = message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                                    channel=channel, body=body, purpose="TRANSACTIONAL",
                                    source="community.pods", dedupe_key=key)
    return int(created)


def pods_tick_tenant(*, tenant: Tenant, now: datetime | None = None) -> int:
    from tend.community.services.commitments import local_today, streaks_decay
    from tend.community.services.pods_core import meetings_generate

    now = now or timezone.now()
    sent = 0
    for pod in Pod.objects.filter(tenant=tenant, status__in=(PodStatus.ACTIVE, PodStatus.FULL)):
        meetings_generate(tenant=tenant, pod=pod, weeks=2, after=now)
    members = PodMembership.objects.filter(tenant=tenant, status="ACTIVE").select_related(
        "contact")
    by_pod: dict[Any, list[Contact]] = {}
    for m in members:
        by_pod.setdefault(m.pod_id, []).append(m.contact)
    soon = PodMeeting.objects.filter(tenant=tenant, status="SCHEDULED", scheduled_at__gt=now,
                                     scheduled_at__lte=now + timedelta(hours=24)
                                     ).select_related("pod")
    for meeting in soon:
        for contact in by_pod.get(meeting.pod_id, ()):
            body = _("Reminder: %(pod)s meets in less than a day. %(link)s") % {
                "pod": meeting.pod.name, "link": meeting.pod.meeting_link}
            sent += _send(tenant, contact, body.strip(), f"pod-remind:{meeting.pk}:{contact.pk}")
    ended = PodMeeting.objects.filter(tenant=tenant, scheduled_at__lte=now - timedelta(hours=1),
                                      scheduled_at__gt=now - timedelta(hours=24)
                                      ).exclude(status="CANCELLED").select_related("pod")
    for meeting in ended:
        for contact in by_pod.get(meeting.pod_id, ()):
            body = _("Were you at today's %(pod)s meeting? Reply yes or no.") % {
                "pod": meeting.pod.name}
            sent += _send(tenant, contact, body, f"pod-attend:{meeting.pk}:{contact.pk}")
    today = local_today(tenant, now)
    evening = now.astimezone(zone_of(tenant)).hour >= DAILY_HOUR
    open_ = (Commitment.objects.filter(tenant=tenant, status=CommitmentStatus.ACTIVE)
             .select_related("contact").order_by("contact_id", "-created_at")
             .distinct())
    seen = set()
    for commitment in open_ if evening else ():
        if commitment.contact_id in seen:
            continue
        seen.add(commitment.contact_id)
        body = _("Daily check-in: did you do “%(text)s” today? Send /done when it is done.") % {
            "text": commitment.text[:200]}
        sent += _send(tenant, commitment.contact, body,
                      f"commit-daily:{commitment.contact_id}:{today.isoformat()}")
    streaks_decay(tenant=tenant, now=now)
    return sent
