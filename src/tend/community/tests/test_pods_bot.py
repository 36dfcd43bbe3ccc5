"""The commitment and pod bots through the Telegram webhook (/commit, the commit flow, /done,
/streak, yes/no attendance), and the periodic tick's reminders with their dedupe keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.community.models import Commitment, MeetingAttendance, PodMeeting, PodsProfile
from tend.community.services.pods_core import pod_create, pod_join
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


def test_tick_reminds_asks_and_checks_in_once(scoped, say, tenant, owner):
    say("hello")
    contact = Contact.objects.get()
    actor = member_actor(tenant, owner)
    pod = pod_create(tenant=scoped, actor=actor, data={"name": "Pod", "time": "10:00",
                                                       "meeting_link": "https://meet.example"})
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=contact)
    now = timezone.now()
    PodMeeting.objects.create(tenant=scoped, pod=pod, scheduled_at=now + timedelta(hours=5))
    PodMeeting.objects.create(tenant=scoped, pod=pod, scheduled_at=now - timedelta(hours=2))
    say("/commit run 5 km today")
    evening = now.replace(hour=19)
    sent = pods_tick_tenant(tenant=scoped, now=evening if evening > now else now)
    again = pods_tick_tenant(tenant=scoped, now=evening if evening > now else now)
    assert again == 0
    bodies = list(Message.objects.filter(source="community.pods").values_list("body", flat=True))
    assert len(bodies) == sent
    assert any(b.startswith("Reminder: Pod meets in less than a day.") for b in bodies)
    assert any(b.startswith("Were you at today's Pod meeting?") for b in bodies)
    assert PodMeeting.objects.filter(pod=pod).count() >= 4
