"""The pods part's periodic work, per organization that has pods or commitments: meetings
generated two weeks ahead, a reminder the day before each meeting, the "were you there?"
question after it (to members who have not answered), a daily commitment check-in to people
with open commitments (from 18:00 organization time), a weekly check-in to every pod member
(the week's kept commitments and streak; by default Sundays from 18:00, organization time —
the day and hour are the organization's pods settings, `services/pods_settings.py`), and
streaks that lapse. Each
message is written in the person's language and goes through messaging's outbox (Telegram
when linked, else email) with a dedupe key, so ticks may run twice or in parallel."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.db.models import Count
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tend.community.models import (
    Commitment,
    CommitmentCheckIn,
    CommitmentStatus,
    MeetingAttendance,
    Pod,
    PodMeeting,
    PodMembership,
    PodsProfile,
    PodStatus,
)
from tend.community.services.pods_settings import pods_settings
from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.zones import tenant_zone, zone_named
from tend.people.models import Contact

DAILY_HOUR = 18  # the daily commitment check-in goes out from 18:00, organization time


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


def _language(tenant: Tenant, contact: Contact) -> str:
    return (getattr(contact, "language", "") or tenant.default_language or "en").lower()


def _send(tenant: Tenant, contact: Contact, key: str, compose: Callable[[], str],
          subject: Callable[[], str]) -> int:
    """Queue one message to `contact` unless `key` was sent already; the body and subject
    are composed in the person's language."""
    from tend.community.services.matching import contact_channel
    from tend.messaging.models import Message
    from tend.messaging.services.outbox import message_enqueue

    if Message.objects.filter(tenant=tenant, dedupe_key=key).exists():
        return 0
    channel = contact_channel(contact)
    if channel is None:
        return 0
    with translation.override(_language(tenant, contact)):
        body, title = compose().strip(), subject()
    _msg, created = message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                                    channel=channel, body=body, subject=title,
                                    purpose="TRANSACTIONAL", source="community.pods",
                                    dedupe_key=key)
    return int(created)


def pods_tick_tenant(*, tenant: Tenant, now: datetime | None = None) -> int:
    from tend.community.services.commitments import local_today, streaks_decay
    from tend.community.services.pods_core import meetings_generate, pod_refresh_health

    now = now or timezone.now()
    sent = 0
    for pod in Pod.objects.filter(tenant=tenant, status__in=(PodStatus.ACTIVE, PodStatus.FULL)):
        meetings_generate(tenant=tenant, pod=pod, weeks=2, after=now)
        pod_refresh_health(tenant=tenant, pod=pod)
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
            sent += _send(tenant, contact, f"pod-remind:{meeting.pk}:{contact.pk}",
                          partial(_remind_body, meeting.pod, meeting),
                          partial(_remind_subject, meeting.pod))
    ended = PodMeeting.objects.filter(tenant=tenant, scheduled_at__lte=now - timedelta(hours=1),
                                      scheduled_at__gt=now - timedelta(hours=24)
                                      ).exclude(status="CANCELLED").select_related("pod")
    answered = set(MeetingAttendance.objects.filter(tenant=tenant, meeting__in=ended)
                   .values_list("meeting_id", "contact_id"))
    for meeting in ended:
        for contact in by_pod.get(meeting.pod_id, ()):
            if (meeting.pk, contact.pk) in answered:
                continue
            sent += _send(tenant, contact, f"pod-attend:{meeting.pk}:{contact.pk}",
                          partial(_attend_body, meeting.pod),
                          partial(_attend_subject, meeting.pod))
    local = now.astimezone(tenant_zone(tenant))
    today = local_today(tenant, now)
    evening = local.hour >= DAILY_HOUR
    open_ = (Commitment.objects.filter(tenant=tenant, status=CommitmentStatus.ACTIVE)
             .select_related("contact").order_by("contact_id", "-created_at"))
    seen = set()
    for commitment in open_ if evening else ():
        if commitment.contact_id in seen:
            continue
        seen.add(commitment.contact_id)
        sent += _send(tenant, commitment.contact,
                      f"commit-daily:{commitment.contact_id}:{today.isoformat()}",
                      partial(_daily_body, commitment.text), _daily_subject)
    weekly = pods_settings(tenant)
    if local.isoweekday() == weekly["weekly_day"] and local.hour >= weekly["weekly_hour"]:
        sent += _weekly(tenant, by_pod, today)
    streaks_decay(tenant=tenant, now=now)
    return sent


def _remind_body(pod: Pod, meeting: PodMeeting) -> str:
    when = timezone.localtime(meeting.scheduled_at, zone_named(pod.time_zone))
    return _("Reminder: %(pod)s meets %(when)s. %(link)s") % {
        "pod": pod.name, "link": pod.meeting_link,
        "when": f"{date_format(when, 'l H:i')} ({pod.time_zone})"}


def _remind_subject(pod: Pod) -> str:
    return _("%(pod)s meets soon") % {"pod": pod.name}


def _attend_body(pod: Pod) -> str:
    return _("Were you at today's %(pod)s meeting? Reply yes or no.") % {"pod": pod.name}


def _attend_subject(pod: Pod) -> str:
    return _("Were you at %(pod)s?") % {"pod": pod.name}


def _daily_body(text: str) -> str:
    return _("Daily check-in: did you do “%(text)s” today? Send /done when it is done.") % {
        "text": text[:200]}


def _daily_subject() -> str:
    return _("Daily check-in")


def _weekly_body(kept: int, streak: int) -> str:
    return _("Weekly check-in: you kept %(kept)d commitment(s) this week; your streak is "
             "%(streak)d days. What will you commit to next? Send /commit and what you will "
             "do.") % {"kept": kept, "streak": streak}


def _weekly_subject() -> str:
    return _("Your week")


def _weekly(tenant: Tenant, by_pod: dict[Any, list[Contact]], today: date) -> int:
    """The weekly check-in to every active pod member: commitments kept in the last seven
    days and the current streak. One per person and ISO week."""
    people = {c.pk: c for members in by_pod.values() for c in members}
    if not people:
        return 0
    since = today - timedelta(days=6)
    kept = dict(CommitmentCheckIn.objects.filter(
        tenant=tenant, contact_id__in=list(people), day__gte=since, day__lte=today, done=True)
        .values("contact_id").annotate(n=Count("commitment_id", distinct=True))
        .values_list("contact_id", "n"))
    streaks = dict(PodsProfile.objects.filter(tenant=tenant, contact_id__in=list(people))
                   .values_list("contact_id", "current_streak"))
    year, week, _day = today.isocalendar()
    sent = 0
    for cid, contact in people.items():
        sent += _send(tenant, contact, f"pod-weekly:{cid}:{year}-W{week:02d}",
                      partial(_weekly_body, kept.get(cid, 0), streaks.get(cid, 0)),
                      _weekly_subject)
    return sent
