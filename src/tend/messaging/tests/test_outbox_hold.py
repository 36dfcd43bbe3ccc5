"""Holding messages back (a paused campaign) while some of them are being sent: a message in
flight when the hold comes must not escape it through a retry, a deferral or an expired lease;
`tend worker --once` drains the outbox."""

# ruff: noqa: F811 - the fixtures imported from test_outbox_worker are parameters here

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from tend.core.tenancy import system_scope, tenant_scope
from tend.messaging.choices import MessageStatus
from tend.messaging.fakes import FakeTelegram
from tend.messaging.models import ChannelAccount, Message
from tend.messaging.outbox.worker import OutboxWorker
from tend.messaging.services.outbox import messages_hold, messages_release
from tend.messaging.tests.test_outbox_worker import (  # noqa: F401 - fixtures
    account,
    fake,
    person,
    probe,
    queue,
    reload,
)

PREFIX = "campaign:0123abcd:"


@pytest.fixture(autouse=True)
def slow_retries(settings):
    """Retries come back after a draw between 0 and the backoff: with the default 2 s a retry
    can fall due at once and be sent by the same run; these tests move them on by hand."""
    settings.TEND_OUTBOX_BACKOFF_BASE = 3600.0


@pytest.fixture(autouse=True)
def unpaced(scoped, account):
    """No rate limits: a paced send that starts late on a busy machine goes back in the
    queue (and, held, to HELD), which is not what these tests are about."""
    with tenant_scope(scoped):
        ChannelAccount.objects.filter(pk=account.pk).update(rate_per_second=0,
                                                            rate_per_chat_per_second=0)


def _in_flight(worker: OutboxWorker) -> list[Message]:
    """Claim what is due: the messages are SENDING under the worker's lease, not yet sent."""
    with system_scope():
        return worker.claim(50)


def _finish(worker: OutboxWorker, claimed: list[Message]) -> None:
    """Send the claimed messages and record the answers."""
    with system_scope():
        worker.record(worker.dispatch(claimed))  # type: ignore[arg-type]
    worker.run_until_idle(timeout=30)


def test_a_message_in_flight_when_held_goes_to_held_if_its_send_fails(scoped, account, fake):
    held = queue(scoped, person(scoped, chat_id=555), "Spring sale", dedupe_key=f"{PREFIX}1")
    other = queue(scoped, person(scoped, chat_id=556), "Your receipt", dedupe_key="receipt:1")
    waiting = queue(scoped, person(scoped, chat_id=557), "Spring sale",
                    dedupe_key=f"{PREFIX}2", send_at=timezone.now() + timedelta(hours=1))
    fake.script(FakeTelegram.server_error(502), times=2, op="sendMessage")
    worker = OutboxWorker(worker_id="w-test")
    claimed = _in_flight(worker)
    assert {m.pk for m in claimed} == {held.pk, other.pk}

    with tenant_scope(scoped):
        assert messages_hold(tenant=scoped, dedupe_prefix=PREFIX) == 2  # in flight + queued
    _finish(worker, claimed)

    # Both sends failed (502) and would be retried: the one not held goes back in the queue,
    # the held one does not, and no later run picks it up.
    assert reload(scoped, other).status == MessageStatus.QUEUED
    assert reload(scoped, held).status == MessageStatus.HELD
    assert reload(scoped, waiting).status == MessageStatus.HELD
    assert worker.stats.held == 1
    with tenant_scope(scoped):
        Message.objects.filter(pk=other.pk).update(next_attempt_at=timezone.now())
    OutboxWorker(worker_id="w-2").run_until_idle(timeout=30)
    assert reload(scoped, held).status == MessageStatus.HELD
    assert reload(scoped, other).status == MessageStatus.SENT
    assert [m.text for m in fake.sent] == ["Your receipt"]

    # Resumed: released like the others, then sent.
    with tenant_scope(scoped):
        assert messages_release(tenant=scoped, dedupe_prefix=PREFIX) == 2
        Message.objects.filter(pk=held.pk).update(next_attempt_at=timezone.now())
    assert reload(scoped, held).hold_requested is False
    OutboxWorker(worker_id="w-3").run_until_idle(timeout=30)
    assert reload(scoped, held).status == MessageStatus.SENT
    assert reload(scoped, waiting).status == MessageStatus.QUEUED  # not due yet


def test_a_message_in_flight_when_held_is_sent_if_its_send_succeeds(scoped, account, fake):
    message = queue(scoped, person(scoped, chat_id=555), "Spring sale",
                    dedupe_key=f"{PREFIX}1")
    worker = OutboxWorker(worker_id="w-test")
    claimed = _in_flight(worker)
    with tenant_scope(scoped):
        messages_hold(tenant=scoped, dedupe_prefix=PREFIX)
    _finish(worker, claimed)
    message = reload(scoped, message)
    assert (message.status, message.hold_requested) == (MessageStatus.SENT, False)
    assert len(fake.sent) == 1


def test_a_held_message_whose_worker_died_is_held_not_sent_again(scoped, account, fake):
    message = queue(scoped, person(scoped, chat_id=555), "Spring sale",
                    dedupe_key=f"{PREFIX}1")
    _in_flight(OutboxWorker(worker_id="w-dead"))  # claimed, then the worker vanishes
    with tenant_scope(scoped):
        messages_hold(tenant=scoped, dedupe_prefix=PREFIX)
        past = timezone.now() - timedelta(seconds=1)
        Message.objects.filter(pk=message.pk).update(lease_until=past, next_attempt_at=past)
    worker = OutboxWorker(worker_id="w-test")
    worker.run_until_idle(timeout=30)
    assert reload(scoped, message).status == MessageStatus.HELD
    assert worker.stats.held == 1
    assert fake.count("sendMessage") == 0


def test_worker_once_drains_the_outbox(scoped, account, fake):
    first = queue(scoped, person(scoped, chat_id=555), "One")
    second = queue(scoped, person(scoped, chat_id=556), "Two")
    later = queue(scoped, person(scoped, chat_id=557), "Later",
                  send_at=timezone.now() + timedelta(hours=1))
    with open(os.devnull, "w") as out:
        call_command("worker", "--once", stdout=out)
    assert reload(scoped, first).status == MessageStatus.SENT
    assert reload(scoped, second).status == MessageStatus.SENT
    assert reload(scoped, later).status == MessageStatus.QUEUED
    assert sorted(m.text for m in fake.sent) == ["One", "Two"]
