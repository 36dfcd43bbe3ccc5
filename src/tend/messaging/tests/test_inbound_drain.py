"""Inbound events are stored raw by the webhook and drained per account: one drain job per
burst, every event processed in order, events stored while the drain runs not left behind,
a failing event recorded while the others go on, and re-runs that change nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tend.core.tenancy import system_scope, tenant_scope
from tend.core.worker import TendWorker
from tend.messaging.choices import InboundStatus
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import ChannelAccount, InboundDrain, InboundEvent, Message
from tend.messaging.providers import provider_for
from tend.messaging.services import inbound, inbound_drain
from tend.messaging.services.inbound_drain import (
    SWEEP_AFTER,
    events_store,
    inbound_retry,
    inbound_store,
    inbound_sweep,
)
from tend.messaging.tasks import process_inbound_event
from tend.messaging.tests.telegram_helpers import connect_bot, post_update

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
DRAIN_TASK = "tend.messaging.tasks.drain_inbound"


@pytest.fixture
def bot(scoped, fake_telegram):  # noqa: F811
    return connect_bot(scoped, fake_telegram)


def items(bot: ChannelAccount, update: dict[str, Any]) -> list[Any]:
    return provider_for("TELEGRAM").split(bot, json.dumps(update).encode())


def store(bot: ChannelAccount, fake: Any, text: str, chat_id: int = 700_001) -> list[Any]:
    """Store one update without asking for a drain (as a webhook does before it asks)."""
    return events_store(account=bot, items=items(bot, fake.make_update(text, chat_id=chat_id)))


def bodies() -> list[str]:
    return list(Message.objects.order_by("created_at", "id").values_list("body", flat=True))


def statuses() -> dict[str, str]:
    return {e.payload["message"]["text"]: e.status for e in InboundEvent.objects.all()}


def test_a_burst_of_updates_makes_one_drain_job_that_processes_them_in_order(
        scoped, fake_telegram, bot, client, django_capture_on_commit_callbacks):  # noqa: F811
    texts = [f"update {n}" for n in range(12)]
    with override_settings(TASKS=DB_TASKS):
        with django_capture_on_commit_callbacks(execute=True):
            answers = [post_update(client, fake_telegram,
                                   fake_telegram.make_update(text, chat_id=700_001)).json()
                       for text in texts]
        assert answers == [{"received": 1, "new": 1}] * 12
        assert list(DBTaskResult.objects.values_list("task_path", flat=True)) == [DRAIN_TASK]
        assert set(statuses().values()) == {InboundStatus.PENDING}

        assert TendWorker(worker_id="w-drain").run_until_idle() == 1

    assert statuses() == dict.fromkeys(texts, InboundStatus.PROCESSED)
    assert bodies() == texts
    drain = InboundDrain.objects.get(account=bot)
    assert (drain.requested_at, drain.lease_until, drain.leased_by) == (None, None, "")
    assert ChannelAccount.objects.get(pk=bot.pk).last_inbound_at is not None


def test_after_a_drain_the_next_update_asks_for_a_new_one(
        scoped, fake_telegram, bot, client, django_capture_on_commit_callbacks):  # noqa: F811
    with override_settings(TASKS=DB_TASKS):
        for text in ("first", "second"):
            with django_capture_on_commit_callbacks(execute=True):
                post_update(client, fake_telegram, fake_telegram.make_update(text))
            assert TendWorker(worker_id="w-drain").run_until_idle() == 1
        assert DBTaskResult.objects.filter(task_path=DRAIN_TASK).count() == 2
    assert bodies() == ["first", "second"]


def test_an_update_stored_when_the_drain_has_claimed_its_last_batch_is_processed(
        scoped, fake_telegram, bot, monkeypatch, django_capture_on_commit_callbacks):  # noqa: F811
    store(bot, fake_telegram, "before")
    release = inbound_drain._release
    arrived: list[Any] = []

    def release_after_a_late_update(*args: Any, **kwargs: Any) -> None:
        if not arrived:  # the webhook of "late" runs between the last claim and the release
            arrived.extend(inbound_store(account=bot, items=items(
                bot, fake_telegram.make_update("late", chat_id=700_001))))
        release(*args, **kwargs)

    monkeypatch.setattr(inbound_drain, "_release", release_after_a_late_update)
    with override_settings(TASKS=DB_TASKS), django_capture_on_commit_callbacks(execute=True):
        result = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)
        # The drain was still requested when "late" came: its webhook enqueued nothing.
        assert DBTaskResult.objects.count() == 0

    assert len(arrived) == 1
    assert (result.processed, result.passes) == (2, 2)
    assert statuses() == {"before": InboundStatus.PROCESSED, "late": InboundStatus.PROCESSED}
    assert bodies() == ["before", "late"]


def test_a_failing_event_is_recorded_with_its_error_and_the_others_proceed(
        scoped, fake_telegram, bot, monkeypatch):  # noqa: F811
    apply_message = inbound.apply_message

    def apply_or_fail(tenant: Any, account: Any, parsed: Any) -> Any:
        message = apply_message(tenant, account, parsed)
        if parsed.text == "boom":
            raise ValueError("cannot take this one")
        return message

    monkeypatch.setattr(inbound, "apply_message", apply_or_fail)
    for text in ("one", "boom", "three"):
        store(bot, fake_telegram, text)

    result = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)

    assert (result.processed, result.failed) == (2, 1)
    assert statuses() == {"one": InboundStatus.PROCESSED, "boom": InboundStatus.FAILED,
                          "three": InboundStatus.PROCESSED}
    failed = InboundEvent.objects.get(status=InboundStatus.FAILED)
    assert (failed.error, failed.attempts) == ("ValueError: cannot take this one", 1)
    assert failed.processed_at is not None
    # What the failing event wrote before it failed is rolled back with its savepoint.
    assert bodies() == ["one", "three"]


def test_running_the_drain_again_changes_nothing_and_a_retried_event_is_processed(
        scoped, fake_telegram, bot, monkeypatch, django_capture_on_commit_callbacks):  # noqa: F811
    apply_message = inbound.apply_message
    broken = {"on": True}

    def apply_unless_broken(tenant: Any, account: Any, parsed: Any) -> Any:
        if broken["on"] and parsed.text == "flaky":
            raise RuntimeError("provider hiccup")
        return apply_message(tenant, account, parsed)

    monkeypatch.setattr(inbound, "apply_message", apply_unless_broken)
    for text in ("hello", "flaky"):
        store(bot, fake_telegram, text)
    first = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)
    again = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)

    assert (first.processed, first.failed) == (1, 1)
    assert (again.processed, again.failed, again.passes) == (0, 0, 1)
    assert bodies() == ["hello"]
    assert InboundEvent.objects.get(status=InboundStatus.PROCESSED).attempts == 1

    broken["on"] = False
    event = InboundEvent.objects.get(status=InboundStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        inbound_retry(tenant=scoped, event=event)
    event.refresh_from_db()
    assert (event.status, event.error, event.attempts) == (InboundStatus.PROCESSED, "", 2)
    assert bodies() == ["hello", "flaky"]


def test_a_task_of_the_earlier_one_per_event_kind_drains_the_account(
        scoped, fake_telegram, bot):  # noqa: F811
    [event] = store(bot, fake_telegram, "queued before the upgrade")
    store(bot, fake_telegram, "and its neighbour")

    assert process_inbound_event.call(str(scoped.pk), str(event.pk)) == {
        "processed": 2, "ignored": 0, "failed": 0, "passes": 1}
    assert bodies() == ["queued before the upgrade", "and its neighbour"]


def test_a_drain_returns_while_another_holds_the_account_and_takes_over_a_run_out_lease(
        scoped, fake_telegram, bot):  # noqa: F811
    store(bot, fake_telegram, "waiting")
    now = timezone.now()
    InboundDrain.objects.create(tenant=scoped, account=bot, requested_at=now,
                                lease_until=now + timedelta(minutes=1), leased_by="other")

    held = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)
    assert (held.passes, held.processed) == (0, 0)
    assert statuses() == {"waiting": InboundStatus.PENDING}

    InboundDrain.objects.filter(account=bot).update(lease_until=now - timedelta(seconds=1))
    taken = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)
    assert (taken.passes, taken.processed) == (1, 1)
    assert statuses() == {"waiting": InboundStatus.PROCESSED}


def test_the_sweep_drains_events_nobody_drains(scoped, fake_telegram, bot,  # noqa: F811
                                               django_capture_on_commit_callbacks):
    store(bot, fake_telegram, "stored just before a crash")
    now = timezone.now()
    with system_scope():
        assert inbound_sweep(now=now) == 0  # too recent: a drain may be on its way
    later = now + SWEEP_AFTER + timedelta(seconds=1)
    InboundDrain.objects.create(tenant=scoped, account=bot, requested_at=now,
                                lease_until=later + timedelta(minutes=1), leased_by="alive")
    with system_scope():
        assert inbound_sweep(now=later) == 0  # a live drainer holds it

    InboundDrain.objects.filter(account=bot).update(lease_until=now)  # it died
    with system_scope(), django_capture_on_commit_callbacks(execute=True):
        assert inbound_sweep(now=later) == 1
    with tenant_scope(scoped):
        assert statuses() == {"stored just before a crash": InboundStatus.PROCESSED}
    with system_scope():
        assert inbound_sweep(now=later) == 0


@pytest.mark.django_db(transaction=True)
def test_a_failing_message_received_receiver_neither_stops_the_drain_nor_the_others(
        tenant, fake_telegram):  # noqa: F811
    """The receivers of a batch's messages run after its commit; one that raises must not
    skip the receivers of the batch's other messages nor leave later batches waiting."""
    from tend.messaging.signals import message_received

    heard: list[str] = []

    def receiver(sender: Any, message: Any, **kwargs: Any) -> None:
        heard.append(message.body)
        if message.body == "boom":
            raise RuntimeError("a receiver failed")

    with tenant_scope(tenant):
        bot = connect_bot(tenant, fake_telegram)
        for text in ("one", "boom", "three", "four"):
            store(bot, fake_telegram, text)
    message_received.connect(receiver, dispatch_uid="test.drain.failing_receiver")
    try:
        with tenant_scope(tenant):
            result = inbound_drain.inbound_drain(tenant=tenant, account_id=bot.pk,
                                                 batch_size=3)
            assert result.processed == 4
            assert set(statuses().values()) == {InboundStatus.PROCESSED}
            drain = InboundDrain.objects.get(account=bot)
            assert (drain.requested_at, drain.lease_until) == (None, None)
    finally:
        message_received.disconnect(dispatch_uid="test.drain.failing_receiver")
    assert heard == ["one", "boom", "three", "four"]


def test_the_sweep_leaves_inactive_organizations_alone_and_reads_one_row_per_account(
        scoped, fake_telegram, bot, django_capture_on_commit_callbacks):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tend.core.models import Tenant

    for text in ("waiting", "and waiting"):
        store(bot, fake_telegram, text)
    InboundEvent.objects.filter(payload__message__text="and waiting").update(
        received_at=timezone.now() + timedelta(milliseconds=5))
    later = timezone.now() + SWEEP_AFTER + timedelta(seconds=1)
    with system_scope():
        Tenant.objects.filter(pk=scoped.pk).update(is_active=False)
        # Its drain job would do nothing: asking for one every minute only fills the queue.
        assert inbound_sweep(now=later) == 0
        Tenant.objects.filter(pk=scoped.pk).update(is_active=True)
        with CaptureQueriesContext(connection) as queries, \
                django_capture_on_commit_callbacks(execute=False):
            assert inbound_sweep(now=later) == 1
    # The pending events are read one row per account, not one per event.
    [waiting] = [q["sql"] for q in queries.captured_queries
                 if "DISTINCT" in q["sql"] and "messaging_inboundevent" in q["sql"]]
    assert "ORDER BY" not in waiting
    assert '"received_at" FROM' not in waiting


@pytest.mark.django_db(transaction=True)
def test_a_failing_status_receiver_neither_stops_the_drain_nor_the_others(
        tenant, fake_telegram, monkeypatch):  # noqa: F811
    from tend.messaging.choices import MessageDirection, MessageStatus
    from tend.messaging.providers import InboundItem, StatusUpdate
    from tend.messaging.signals import message_status_changed
    from tend.people.models import Contact

    class Statuses:
        def parse(self, account: Any, item: Any) -> list[Any]:
            return [StatusUpdate(item.payload["id"], MessageStatus.DELIVERED)]

    monkeypatch.setattr(inbound_drain, "provider_for", lambda kind: Statuses())
    heard: list[str] = []

    def receiver(sender: Any, message: Any, **kwargs: Any) -> None:
        heard.append(message.provider_message_id)
        if message.provider_message_id == "p1":
            raise RuntimeError("a receiver failed")

    with tenant_scope(tenant):
        bot = connect_bot(tenant, fake_telegram)
        contact = Contact.objects.create(tenant=tenant, first_name="Amal")
        ids = ["p1", "p2", "p3"]
        for pid in ids:
            Message.objects.create(
                tenant=tenant, contact=contact, account=bot, channel="TELEGRAM",
                direction=MessageDirection.OUTBOUND, status=MessageStatus.SENT, to_address="1",
                body=pid, provider_message_id=pid)
        events_store(account=bot, items=[InboundItem(f"{pid}:d", "status", {"id": pid})
                                         for pid in ids])
    message_status_changed.connect(receiver, dispatch_uid="test.drain.failing_status")
    try:
        with tenant_scope(tenant):
            result = inbound_drain.inbound_drain(tenant=tenant, account_id=bot.pk,
                                                 batch_size=2)
            assert result.processed == 3
            assert set(Message.objects.values_list("status", flat=True)) == {
                MessageStatus.DELIVERED}
    finally:
        message_status_changed.disconnect(dispatch_uid="test.drain.failing_status")
    assert heard == ids


class WorkerDied(BaseException):
    """Stands for the process dying mid-batch (killed, out of memory): nothing after it runs."""


def test_an_event_that_kills_its_worker_is_given_up_after_three_tries_and_the_rest_drain(
        scoped, fake_telegram, bot, monkeypatch):  # noqa: F811
    apply_message = inbound.apply_message

    def apply_or_die(tenant: Any, account: Any, parsed: Any) -> Any:
        if parsed.text == "poison":
            raise WorkerDied()
        return apply_message(tenant, account, parsed)

    monkeypatch.setattr(inbound, "apply_message", apply_or_die)
    # A dead process releases nothing: its lease stays until it runs out.
    monkeypatch.setattr(inbound_drain, "_release_quietly", lambda *args: None)
    for text in ("before", "poison", "after"):
        store(bot, fake_telegram, text)

    def drain_until_the_worker_dies() -> None:
        with pytest.raises(WorkerDied):
            inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)
        InboundDrain.objects.filter(account=bot).update(
            lease_until=timezone.now() - timedelta(seconds=1))

    drain_until_the_worker_dies()  # the whole first batch rolls back, nothing counted
    assert statuses() == dict.fromkeys(("before", "poison", "after"), InboundStatus.PENDING)
    for tries in (1, 2, 3):  # each drain after a death counts an attempt before processing
        drain_until_the_worker_dies()
        assert InboundEvent.objects.get(payload__message__text="poison").attempts == tries
    assert statuses()["before"] == InboundStatus.PROCESSED

    result = inbound_drain.inbound_drain(tenant=scoped, account_id=bot.pk)

    assert (result.processed, result.failed) == (1, 1)
    assert statuses() == {"before": InboundStatus.PROCESSED, "poison": InboundStatus.FAILED,
                          "after": InboundStatus.PROCESSED}
    poison = InboundEvent.objects.get(status=InboundStatus.FAILED)
    assert "stopped while processing this event 3 times" in poison.error
    assert bodies() == ["before", "after"]
    assert InboundEvent.objects.get(payload__message__text="after").attempts == 1
    drain = InboundDrain.objects.get(account=bot)
    assert (drain.leased_by, drain.lease_until) == ("", None)
