"""The outbox worker against the fake Telegram Bot API over real HTTP: claims, send-time
decisions (address, consent, quiet hours, account, WhatsApp window), retries, dead letters,
leases and rate limits."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import MessagePurpose, MessageStatus
from tend.messaging.fakes import FakeTelegram
from tend.messaging.fakes.base import Delay
from tend.messaging.models import ChannelAccount, Conversation, Message, Template
from tend.messaging.outbox import backoff, limiter
from tend.messaging.outbox.decide import quiet_until
from tend.messaging.outbox.worker import OutboxWorker, WindowLog
from tend.messaging.providers import Provider, SendResult
from tend.messaging.providers import base as provider_base
from tend.messaging.services.outbox import message_enqueue
from tend.messaging.signals import message_status_changed
from tend.messaging.tests.outbox_probe import ProbeTelegram
from tend.people.models import Activity, Contact, IdentityAlias
from tend.people.tests.helpers_360 import make_contact


@pytest.fixture
def probe():
    """The probe Telegram provider (and a recording WhatsApp one) for this test only."""
    saved = dict(provider_base._registry)
    provider = ProbeTelegram(timeout=0.5)
    provider_base.register_provider(provider)
    provider_base.register_provider(RecordingWhatsApp())
    yield provider
    provider_base._registry.clear()
    provider_base._registry.update(saved)


class RecordingWhatsApp(Provider):
    kind = "WHATSAPP"
    address_types = ("WHATSAPP", "PHONE")

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, account, message):  # type: ignore[no-untyped-def]
        self.sent.append(message)
        return SendResult(f"wamid.{len(self.sent)}")


@pytest.fixture
def fake():
    with FakeTelegram() as tg:
        yield tg


@pytest.fixture
def account(scoped, fake, probe):
    account = ChannelAccount(tenant=scoped, kind="TELEGRAM", name="Bot", status="ACTIVE",
                             settings={"api_base": fake.url}, is_default=True)
    account.set_credentials({"token": fake.token})
    account.save()
    return account


def person(tenant: Tenant, chat_id: int | None = 555, **fields) -> Contact:
    contact = make_contact(tenant, **fields)
    if chat_id is not None:
        with tenant_scope(tenant):
            IdentityAlias.objects.create(tenant=tenant, contact=contact, type="TELEGRAM",
                                         value=str(chat_id), is_primary=True)
    return contact


def queue(tenant: Tenant, contact: Contact, body: str = "Hello", **kw) -> Message:
    with tenant_scope(tenant):
        message, _ = message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                                     channel=kw.pop("channel", "TELEGRAM"), body=body, **kw)
    return message


def run(**kw) -> OutboxWorker:
    worker = OutboxWorker(worker_id="w-test", **kw)
    worker.run_until_idle(timeout=30)
    return worker


def reload(tenant: Tenant, message: Message) -> Message:
    with tenant_scope(tenant):
        return Message.objects.get(pk=message.pk)


def test_a_queued_message_is_sent_and_recorded_at_once(scoped, account, fake,
                                                       django_capture_on_commit_callbacks):
    contact = person(scoped, chat_id=555)
    seen = []

    def listener(sender, tenant, message, status, previous, **kw):
        seen.append((tenant.pk, message.pk, status, previous))

    message_status_changed.connect(listener)
    try:
        message = queue(scoped, contact, "Your booking is confirmed")
        with django_capture_on_commit_callbacks(execute=True):
            worker = run()
    finally:
        message_status_changed.disconnect(listener)
    message = reload(scoped, message)
    assert message.status == MessageStatus.SENT
    assert message.to_address == "555"  # resolved from the contact's Telegram identity
    assert message.provider_message_id == str(fake.sent[0].message_id)
    assert message.sent_at is not None and message.lease_until is None
    assert message.attempts == 1
    assert [(m.chat_id, m.text) for m in fake.sent] == [(555, "Your booking is confirmed")]
    assert seen == [(scoped.pk, message.pk, "SENT", "SENDING")]
    with tenant_scope(scoped):
        activity = Activity.objects.get(type="MESSAGE_SENT")
        assert (activity.contact_id, activity.related_id) == (contact.pk, str(message.pk))
        assert Contact.objects.get(pk=contact.pk).last_activity_type == "MESSAGE_SENT"
    assert worker.stats.sent == 1


def test_no_address_is_skipped_without_calling_the_provider(scoped, account, fake):
    message = queue(scoped, person(scoped, chat_id=None))
    run()
    message = reload(scoped, message)
    assert (message.status, message.skip_reason) == ("SKIPPED", "no_address")
    assert fake.count("sendMessage") == 0


def test_marketing_needs_consent_on_the_channel(scoped, account, fake):
    without = person(scoped, chat_id=1)
    granted = person(scoped, chat_id=2, telegram_opt_in=True)
    m1 = queue(scoped, without, purpose=MessagePurpose.MARKETING)
    m2 = queue(scoped, granted, purpose=MessagePurpose.MARKETING)
    m3 = queue(scoped, without, "Receipt", purpose=MessagePurpose.TRANSACTIONAL)
    run()
    assert (reload(scoped, m1).status, reload(scoped, m1).skip_reason) == ("SKIPPED",
                                                                           "no_consent")
    assert reload(scoped, m2).status == "SENT"
    assert reload(scoped, m3).status == "SENT"  # transactional: no consent needed


def test_marketing_in_quiet_hours_waits_for_their_end_in_the_contacts_zone(scoped, account,
                                                                           fake):
    zone = "Asia/Riyadh"
    local_now = timezone.now().astimezone(ZoneInfo(zone))
    # Quiet from an hour ago to two hours from now (local time of the contact).
    start = (local_now - timedelta(hours=1)).strftime("%H:%M")
    end = (local_now + timedelta(hours=2)).strftime("%H:%M")
    Tenant.objects.filter(pk=scoped.pk).update(
        settings={"quiet_hours": {"start": start, "end": end}})
    contact = person(scoped, chat_id=3, telegram_opt_in=True, time_zone=zone)
    marketing = queue(scoped, contact, purpose=MessagePurpose.MARKETING)
    service = queue(scoped, contact, "Your code is 1234", purpose=MessagePurpose.TRANSACTIONAL)
    run()
    marketing = reload(scoped, marketing)
    assert marketing.status == "QUEUED" and marketing.attempts == 0
    expected = (local_now + timedelta(hours=2)).replace(second=0, microsecond=0)
    assert abs((marketing.next_attempt_at - expected).total_seconds()) < 1
    assert reload(scoped, service).status == "SENT"
    assert fake.count("sendMessage") == 1


def test_quiet_hours_wrap_midnight():
    zone = ZoneInfo("Africa/Cairo")
    window = (time(21, 0), time(8, 0))
    late = datetime(2026, 3, 1, 22, 30, tzinfo=zone)
    early = datetime(2026, 3, 2, 6, 0, tzinfo=zone)
    noon = datetime(2026, 3, 2, 12, 0, tzinfo=zone)
    assert quiet_until(late, window, zone) == datetime(2026, 3, 2, 8, 0, tzinfo=zone)
    assert quiet_until(early, window, zone) == datetime(2026, 3, 2, 8, 0, tzinfo=zone)
    assert quiet_until(noon, window, zone) is None


def test_a_disabled_or_missing_account_fails_the_message(scoped, account, fake):
    message = queue(scoped, person(scoped))
    ChannelAccount.objects.filter(pk=account.pk).update(status="DISABLED")
    run()
    message = reload(scoped, message)
    assert (message.status, message.error_code) == ("FAILED", "no_account")
    assert fake.count() == 0


def test_transient_errors_back_off_then_dead_letter(scoped, account, fake, settings):
    settings.TEND_OUTBOX_MAX_ATTEMPTS = 3
    message = queue(scoped, person(scoped))
    fake.script(FakeTelegram.server_error(502), times=3, op="sendMessage")
    before = timezone.now()
    run()
    message = reload(scoped, message)
    assert (message.status, message.attempts, message.error_code) == ("QUEUED", 1, "http_502")
    # Full jitter: somewhere between now and the base delay.
    assert before <= message.next_attempt_at <= timezone.now() + timedelta(seconds=2)
    for expected in (2, 3):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        run()
        assert reload(scoped, message).attempts == expected
    message = reload(scoped, message)
    assert (message.status, message.failed_at is not None) == ("DEAD", True)
    assert fake.count("sendMessage") == 3


def test_backoff_is_capped_exponential_with_full_jitter(settings):
    import random

    settings.TEND_OUTBOX_BACKOFF_BASE, settings.TEND_OUTBOX_BACKOFF_CAP = 2.0, 900.0
    rng = random.Random(7)
    draws = {n: [backoff.delay(n, rng=rng) for _ in range(300)] for n in (1, 3, 12)}
    assert max(draws[1]) <= 2 and max(draws[3]) <= 8 and max(draws[12]) <= 900
    assert max(draws[12]) > 450 and min(draws[12]) < 450  # spread over the whole range
    assert backoff.delay(1, retry_after=30, rng=rng) >= 30


def test_permanent_errors_fail_at_once(scoped, account, fake):
    fake.block(666)
    message = queue(scoped, person(scoped, chat_id=666))
    run()
    message = reload(scoped, message)
    assert (message.status, message.error_code, message.attempts) == ("FAILED", "http_403", 1)
    assert "blocked" in message.error


def test_unauthorized_marks_the_account(scoped, account, fake):
    account.set_credentials({"token": "123:wrong"})
    account.save()
    message = queue(scoped, person(scoped))
    run()
    assert reload(scoped, message).status == "FAILED"
    account.refresh_from_db()
    assert account.status == "ERROR" and account.last_error


def test_429_pauses_the_account_for_retry_after(scoped, account, fake):
    contact = person(scoped)
    message = queue(scoped, contact)
    fake.script(FakeTelegram.rate_limited(7), op="sendMessage")
    run()
    message = reload(scoped, message)
    assert (message.status, message.error_code) == ("QUEUED", "rate_limited")
    assert message.next_attempt_at >= timezone.now() + timedelta(seconds=6)
    assert limiter.paused_until(f"acct:{account.pk}") > timezone.now().timestamp() + 6
    # Everything else on that account waits too, without a request.
    Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
    other = queue(scoped, contact, "second")
    run()
    assert fake.count("sendMessage") == 1
    assert reload(scoped, other).status == "QUEUED" and reload(scoped, other).attempts == 0


def test_a_timeout_is_retried(scoped, account, fake):
    message = queue(scoped, person(scoped))
    fake.script(Delay(2.0), op="sendMessage")
    run()
    message = reload(scoped, message)
    assert (message.status, message.error_code) == ("QUEUED", "timeout")


def test_an_expired_lease_is_claimed_again_and_logged(scoped, account, fake, caplog):
    message = queue(scoped, person(scoped))
    past = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk=message.pk).update(
        status="SENDING", attempts=1, leased_by="dead-worker", lease_until=past,
        next_attempt_at=past)
    live = timezone.now() + timedelta(minutes=5)
    other = queue(scoped, person(scoped, chat_id=777))
    Message.objects.filter(pk=other.pk).update(status="SENDING", leased_by="alive",
                                               lease_until=live, next_attempt_at=live)
    with caplog.at_level(logging.WARNING, logger="tend.messaging.outbox.worker"):
        worker = run()
    assert reload(scoped, message).status == "SENT"
    assert reload(scoped, message).attempts == 2
    assert reload(scoped, other).status == "SENDING"  # its lease still runs
    assert worker.stats.reclaimed == 1
    assert "duplicate" in caplog.text


def test_an_answer_after_losing_the_lease_is_not_recorded(scoped, account, fake):
    message = queue(scoped, person(scoped))
    worker = OutboxWorker(worker_id="slow")
    from tend.core.tenancy import system_scope

    with system_scope():
        claimed = worker.claim(10)
        Message.objects.filter(pk=message.pk).update(leased_by="someone-else")
        worker.record(worker.dispatch(claimed))
        while worker.inflight or worker._done:
            worker.step()
    assert reload(scoped, message).status == "SENDING"
    assert worker.stats.lost == 1


def test_whatsapp_outside_the_window_needs_a_template(scoped, probe):
    wa = ChannelAccount.objects.create(tenant=scoped, kind="WHATSAPP", name="WA",
                                       status="ACTIVE")
    contact = make_contact(scoped)
    with tenant_scope(scoped):
        IdentityAlias.objects.create(tenant=scoped, contact=contact, type="PHONE",
                                     value="+971500000001", is_primary=True)
        template = Template.objects.create(tenant=scoped, key="reminder", channel="WHATSAPP",
                                           language="en", body="Hi", status="PUBLISHED",
                                           provider_template_name="booking_reminder")
    plain = queue(scoped, contact, "Are you coming?", channel="WHATSAPP")
    templated = queue(scoped, contact, "Hi", channel="WHATSAPP", template=template,
                      template_variables={"1": "Lina"}, purpose=MessagePurpose.TRANSACTIONAL)
    run()
    plain = reload(scoped, plain)
    assert (plain.status, plain.error_code) == ("FAILED", "outside_window")
    assert "template" in plain.error
    assert reload(scoped, templated).status == "SENT"
    sent = probe_whatsapp().sent
    assert sent[0].template == {"name": "booking_reminder", "language": "en",
                                "variables": {"1": "Lina"}, "order": []}
    # Inside the window a plain reply goes.
    Conversation.objects.filter(account=wa, contact=contact).update(
        last_inbound_at=timezone.now())
    inside = queue(scoped, contact, "Yes, see you", channel="WHATSAPP")
    run()
    assert reload(scoped, inside).status == "SENT"
    assert probe_whatsapp().sent[-1].template is None


def probe_whatsapp() -> RecordingWhatsApp:
    provider = provider_base.provider_for("WHATSAPP")
    assert isinstance(provider, RecordingWhatsApp)
    return provider


def test_limiter_hands_out_spaced_slots_within_the_horizon(db):
    t0 = 1_000_000.0
    first = limiter.take("acct:test", 10, 50, now=t0, horizon=1.0)
    assert first.count == 10  # slots from t0 to the one-second horizon at 10/s (÷ safety)
    assert first.start == t0
    again = limiter.take("acct:test", 10, 50, now=t0 + 0.5, horizon=1.0)
    assert again.count == 5 and again.start == pytest.approx(first.slot(10))
    none = limiter.take("acct:test", 10, 50, now=t0 + 0.5, horizon=1.0)
    assert none.count == 0 and none.start > t0 + 1.5
    later = limiter.take("acct:test", 10, 5, now=t0 + 3, horizon=1.0)
    assert later.count == 5 and later.start == t0 + 3
    slots = [g.slot(i) for g in (first, again, later) for i in range(g.count)]
    # No one-second window holds more than 10.
    assert max(sum(1 for s in slots if a <= s < a + 1) for a in slots) <= 10
    limiter.pause("acct:test", 30, now=t0 + 5)
    assert limiter.take("acct:test", 10, 5, now=t0 + 6).count == 0
    assert limiter.take("acct:test", 10, 5, now=t0 + 35).count == 5


def test_a_second_holder_starts_a_tolerance_after_the_first(db, settings):
    settings.TEND_OUTBOX_RATE_TOLERANCE = 0.03
    t0 = 2_000_000.0
    a = limiter.take("acct:two", 10, 5, now=t0, holder="A")
    assert (a.count, a.continued) == (5, False)
    more = limiter.take("acct:two", 10, 5, now=t0 + 0.1, holder="A")
    # Right after its own slots: continued, no gap.
    assert more.continued and more.start == pytest.approx(a.end)
    b = limiter.take("acct:two", 10, 5, now=t0 + 0.2, holder="B")
    # Right after another holder's: A's sends up to the tolerance late cannot crowd B's.
    assert not b.continued and b.start == pytest.approx(more.end + 0.03)
    # A key idle for longer than the tolerance needs no gap.
    c = limiter.take("acct:two", 10, 1, now=b.end + 1.0, holder="A")
    assert c.start == pytest.approx(b.end + 1.0)


def test_the_window_log_holds_a_send_one_second_after_a_late_one():
    log = WindowLog()
    assert log.admit("k", 2) == 0.0
    assert log.admit("k", 2) == 0.0
    wait = log.admit("k", 2)
    assert 0.99 < wait <= 1.0 + limiter.WINDOW_GUARD
    assert log.admit("other", 2) == 0.0


def busiest_second(stamps: list[float]) -> int:
    """The most of `stamps` within any window [t, t + 1 s)."""
    stamps = sorted(stamps)
    best = start = 0
    for i, t in enumerate(stamps):
        while t - stamps[start] >= 1.0:
            start += 1
        best = max(best, i - start + 1)
    return best


@pytest.mark.exclusive
def test_the_account_rate_is_never_exceeded(scoped, account, fake, probe):
    ChannelAccount.objects.filter(pk=account.pk).update(rate_per_second=20,
                                                        rate_per_chat_per_second=0)
    for i in range(60):
        queue(scoped, person(scoped, chat_id=10_000 + i))
    # A send that misses its slot (a busy machine) is re-slotted, so wait for those too.
    OutboxWorker(worker_id="w-test", batch_size=25).run_until_idle(timeout=60, within=3)
    with tenant_scope(scoped):
        assert Message.objects.filter(status="SENT").count() == 60
    # The limiter's promise is about when sends start: never more than the rate in any
    # second. The fake sees arrival times, where transit delay (the fake's event loop and the
    # client share this process and a busy machine) can move one request of a window a few
    # ms later, next to the following second's first — one request per window, no more.
    assert len(probe.started) == 60
    assert busiest_second([t for t, _to in probe.started]) <= 20
    assert fake.max_rate(f"bot:{fake.token}") <= 21
    stamps = sorted(fake.timestamps(f"bot:{fake.token}"))
    assert stamps[-1] - stamps[0] >= 59 / 20 * 0.95


@pytest.mark.exclusive
def test_the_rates_per_bot_and_per_chat_hold_together(scoped, account, fake, probe):
    # Several messages per person, claimed in small batches: a person's next message comes
    # up while their chat is still busy, and must neither go early for the chat nor late
    # for the bot (a send moved past its bot slot would crowd the bot's rate).
    ChannelAccount.objects.filter(pk=account.pk).update(rate_per_second=10,
                                                        rate_per_chat_per_second=1)
    people = [person(scoped, chat_id=20_000 + i) for i in range(8)]
    for round_ in range(3):
        for contact in people:
            queue(scoped, contact, f"round {round_}")
    OutboxWorker(worker_id="w-test", batch_size=4).run_until_idle(timeout=60, within=3)
    with tenant_scope(scoped):
        assert Message.objects.filter(status="SENT").count() == 24
    assert busiest_second([t for t, _to in probe.started]) <= 10
    for i in range(8):
        chat = str(20_000 + i)
        assert busiest_second([t for t, to in probe.started if to == chat]) <= 1
        assert fake.max_rate(f"chat:{fake.token}:{chat}") <= 1
    assert fake.max_rate(f"bot:{fake.token}") <= 11


@pytest.mark.exclusive
def test_one_message_per_second_to_one_telegram_chat(scoped, account, fake):
    contact = person(scoped, chat_id=4242)
    for i in range(3):
        queue(scoped, contact, f"part {i}")
    OutboxWorker(worker_id="w-test").run_until_idle(timeout=30, within=3)
    key = f"chat:{fake.token}:4242"
    assert fake.count("sendMessage") == 3
    assert fake.max_rate(key) <= 1
