"""The commitment and pod bots through the Telegram webhook (/commit, the commit flow, /done,
/streak, yes/no attendance), and the periodic tick's reminders with their dedupe keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from tend.community.models import Commitment, MeetingAttendance, PodMeeting, PodsProfile
from tend.community.services.commitments import commitment_check_in, commitment_create
from tend.community.services.pods_core import attendance_record, pod_create, pod_join
from tend.community.services.pods_tick import pods_tick_tenant
from tend.messaging.choices import MessageDirection
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import Message
from tend.messaging.tests.telegram_helpers import connect_bot, deliver
from tend.people.models import Contact
from tend.people.tests.helpers_360 import member_actor

pytestmark = pytest.mark.django_db
CHAT = 710001


@pytest.fixture
def say(client, scoped, fake_telegram):  # noqa: F811
    connect_bot(scoped, fake_telegram)

    def _say(text: str) -> None:
        deliver(client, fake_telegram, fake_telegram.make_update(text, chat_id=CHAT,
                                                                 first_name="Rana"))
    return _say


def _last() -> str:
    return (Message.objects.filter(direction=MessageDirection.OUTBOUND, to_address=str(CHAT))
            .order_by("-queued_at", "-id").values_list("body", flat=True).first() or "")


def test_commit_done_streak(scoped, say):
    say("/streak")
    assert _last() == "No streak yet. Send /commit and what you will do today."
    say("/commit write 500 words before 9am today")
    assert _last() == "Committed: “write 500 words before 9am today” (SMART score 10/10)."
    say("/done")
    assert _last() == "Well done! Streak: 1 days."
    say("/streak")
    assert _last() == ("Current streak: 1 days; longest: 1. Commitments kept: 0 of 1.")
    say("/done all")
    assert Commitment.objects.get().status == "COMPLETED"
    say("/done")
    assert _last().startswith("You have no open commitment.")


def test_the_commit_flow_asks_for_the_text(scoped, say):
    say("/commit")
    assert _last().startswith("What will you do?")
    say("get fit")
    assert _last().startswith("Committed: “get fit” (SMART score 2/10). To make it stronger:")
    assert PodsProfile.objects.get().active_commitments == 1


def test_yes_after_a_meeting_records_attendance(scoped, say, tenant, owner):
    say("hello")
    contact = Contact.objects.get()
    actor = member_actor(tenant, owner)
    pod = pod_create(tenant=scoped, actor=actor, data={"name": "Pod", "time": "10:00"})
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=contact)
    PodMeeting.objects.create(tenant=scoped, pod=pod,
                              scheduled_at=timezone.now() - timedelta(hours=3))
    say("yes")
    assert _last() == "Thanks — marked as there."
    assert MeetingAttendance.objects.get().source == "bot"
    say("no")  # already answered: not consumed by the pod bot
    assert MeetingAttendance.objects.get().attended is True


SUNDAY_EVENING = datetime(2026, 11, 29, 19, 0, tzinfo=UTC)  # a Sunday, 19:00 UTC


def _member(scoped, say, tenant, owner, **pod):
    """The person talking to the bot, in a pod meeting Mondays 10:00 UTC."""
    say("hello")
    contact = Contact.objects.get()
    scoped.time_zone = "UTC"
    scoped.save(update_fields=["time_zone"])
    actor = member_actor(tenant, owner)
    pod = pod_create(tenant=scoped, actor=actor, data={
        "name": "Pod", "time": "10:00", "time_zone": "UTC",
        "meeting_link": "https://meet.example", **pod})
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=contact)
    return contact, pod, actor


def _tick_bodies() -> dict[str, str]:
    return dict(Message.objects.filter(source="community.pods").values_list("dedupe_key",
                                                                             "body"))


def test_tick_reminds_asks_and_checks_in_once(scoped, say, tenant, owner):
    contact, pod, _actor = _member(scoped, say, tenant, owner)
    now = SUNDAY_EVENING
    ended = PodMeeting.objects.create(tenant=scoped, pod=pod, scheduled_at=now - timedelta(hours=2))
    say("/commit run 5 km today")
    sent = pods_tick_tenant(tenant=scoped, now=now)
    assert pods_tick_tenant(tenant=scoped, now=now) == 0
    bodies = _tick_bodies()
    assert len(bodies) == sent == 4
    upcoming = PodMeeting.objects.get(pod=pod, scheduled_at=datetime(2026, 11, 30, 10,
                                                                     tzinfo=UTC))
    assert bodies[f"pod-remind:{upcoming.pk}:{contact.pk}"] == (
        "Reminder: Pod meets Monday 10:00 (UTC). https://meet.example")
    assert bodies[f"pod-attend:{ended.pk}:{contact.pk}"] == (
        "Were you at today's Pod meeting? Reply yes or no.")
    assert bodies[f"commit-daily:{contact.pk}:2026-11-29"].startswith(
        "Daily check-in: did you do “run 5 km today” today?")
    assert bodies[f"pod-weekly:{contact.pk}:2026-W48"].startswith(
        "Weekly check-in: you kept 0 commitment(s) this week; your streak is 0 days.")
    assert PodMeeting.objects.filter(pod=pod).count() >= 3


def test_no_daily_or_weekly_check_in_before_the_evening_nor_on_weekdays(scoped, say, tenant,
                                                                        owner):
    contact, _pod, _actor = _member(scoped, say, tenant, owner)
    say("/commit run 5 km today")
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING - timedelta(hours=3))  # 16:00
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING - timedelta(days=2))  # Friday 19:00
    keys = set(_tick_bodies())
    assert not any(k.startswith("pod-weekly:") for k in keys)
    assert keys & {f"commit-daily:{contact.pk}:2026-11-27"}
    assert f"commit-daily:{contact.pk}:2026-11-29" not in keys


def test_members_who_answered_are_not_asked_again(scoped, say, tenant, owner):
    contact, pod, actor = _member(scoped, say, tenant, owner)
    ended = PodMeeting.objects.create(tenant=scoped, pod=pod,
                                      scheduled_at=SUNDAY_EVENING - timedelta(hours=2))
    attendance_record(tenant=scoped, actor=actor, meeting=ended, contact=contact, attended=True)
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING)
    assert f"pod-attend:{ended.pk}:{contact.pk}" not in _tick_bodies()


def test_the_weekly_check_in_counts_the_weeks_kept_commitments(scoped, say, tenant, owner):
    contact, _pod, actor = _member(scoped, say, tenant, owner)
    for text, day in (("run 5 km today", 29), ("read 10 pages today", 25)):
        commitment = commitment_create(tenant=scoped, actor=actor, contact=contact, text=text)
        commitment_check_in(tenant=scoped, actor=actor, commitment=commitment, done=True,
                            day=date(2026, 11, day))
    old = commitment_create(tenant=scoped, actor=actor, contact=contact, text="swim today")
    commitment_check_in(tenant=scoped, actor=actor, commitment=old, done=True,
                        day=date(2026, 11, 20))  # the week before
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING)
    assert _tick_bodies()[f"pod-weekly:{contact.pk}:2026-W48"].startswith(
        "Weekly check-in: you kept 2 commitment(s) this week")


def test_tick_messages_are_in_the_persons_language(scoped, say, tenant, owner):
    contact, pod, _actor = _member(scoped, say, tenant, owner)
    Contact.objects.filter(pk=contact.pk).update(language="ar")
    ended = PodMeeting.objects.create(tenant=scoped, pod=pod,
                                      scheduled_at=SUNDAY_EVENING - timedelta(hours=2))
    pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING)
    assert _tick_bodies()[f"pod-attend:{ended.pk}:{contact.pk}"] == (
        "هل حضرت لقاء Pod اليوم؟ أجب بنعم أو لا.")


def test_tick_messages_reach_telegram_through_the_outbox(scoped, say, tenant, owner,
                                                         fake_telegram):  # noqa: F811
    from tend.messaging.outbox.worker import OutboxWorker

    _contact, pod, _actor = _member(scoped, say, tenant, owner)
    PodMeeting.objects.create(tenant=scoped, pod=pod,
                              scheduled_at=SUNDAY_EVENING - timedelta(hours=2))
    say("/commit run 5 km today")
    sent = pods_tick_tenant(tenant=scoped, now=SUNDAY_EVENING)
    OutboxWorker(worker_id="w-pods").run_until_idle(timeout=60, within=10)  # per-chat pacing

    texts = [m.text for m in fake_telegram.messages_to(CHAT)]
    for start in ("Reminder: Pod meets Monday 10:00", "Were you at today's Pod meeting?",
                  "Daily check-in: did you do", "Weekly check-in: you kept"):
        assert sum(t.startswith(start) for t in texts) == 1, (start, texts)
    statuses = set(Message.objects.filter(source="community.pods")
                   .values_list("status", flat=True))
    assert statuses == {"SENT"} and sent == 4


def test_the_intro_card_reaches_telegram_on_confirmation(scoped, say, tenant, owner,
                                                         fake_telegram):  # noqa: F811
    from tend.community.services.matching import matching_confirm, matching_propose
    from tend.messaging.outbox.worker import OutboxWorker

    say("hello")
    contact = Contact.objects.get()
    actor = member_actor(tenant, owner)
    PodsProfile.objects.create(tenant=scoped, contact=contact, waiting=True,
                               goals_category="writing", strengths=["editing"],
                               bio="Novelist in Amman")
    run = matching_propose(tenant=scoped, actor=actor)
    result = matching_confirm(tenant=scoped, actor=actor, run=run)
    assert result["messages"] == 1
    OutboxWorker(worker_id="w-intro").run_until_idle(timeout=60, within=10)
    [card] = [m.text for m in fake_telegram.messages_to(CHAT) if m.text.startswith("Welcome")]
    assert card.startswith("Welcome to Writing pod 1! Your pod meets Monday 19:00")
    assert "strong at: editing" in card and "Novelist in Amman" in card
