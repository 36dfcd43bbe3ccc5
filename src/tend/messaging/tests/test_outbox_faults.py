"""The outbox fault test: real worker processes killed with SIGKILL again and again while the
fake Bot API answers some sends with 429s, 5xx, timeouts and permanent errors. At the end
every message is SENT, FAILED or DEAD; no message reached the fake twice more often than the
documented bound allows; the rate limits (per bot and per chat) were never exceeded.

It runs on PostgreSQL with every test run, at 2,000 messages to 400 people (five each, so the
per-chat limit is at work) and 100 messages/s for the bot, so that the workers are still
busy while they are being killed; `TEND_OUTBOX_FAULT_TEST=1` runs the full size (10,000
messages to 2,000 people at 400/s). `TEND_OUTBOX_FAULT_MESSAGES` and
`TEND_OUTBOX_FAULT_SECONDS` override the size and the time limit.

PostgreSQL only: the SQLite test database lives in memory, out of reach of the worker
processes (and SQLite's single writer would make this a test of lock waits).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from tend.core.tenancy import system_scope, tenant_scope
from tend.messaging.fakes import Delay, FakeTelegram
from tend.messaging.models import ChannelAccount, Message
from tend.people.models import Contact, IdentityAlias

FULL = bool(os.environ.get("TEND_OUTBOX_FAULT_TEST"))
MESSAGES = int(os.environ.get("TEND_OUTBOX_FAULT_MESSAGES", "10000" if FULL else "2000"))
CHATS = max(100, MESSAGES // 5)
RATE = 400 if FULL else 100  # per second for the bot
# Seconds between kills: a worker process takes a few seconds to start on a busy machine, and
# a killed worker's messages wait for their lease (4 s), so kills much closer together would
# leave no worker sending (the run would test start-up time, not the outbox).
KILL_SPACING = (3.0, 6.0) if FULL else (2.0, 4.0)
BLOCKED = 20  # chats that blocked the bot: their messages fail permanently
MAX_IN_FLIGHT = 100
WORKERS = 3
# Receive times at the fake carry the scheduling jitter of a loaded machine (the fake's loop
# shares this process, the workers and PostgreSQL share two cores): the rate checks allow
# 50 ms of it, so "never above N per second" is read as "never more than N requests within
# any 0.95 s" at the fake. Without pacing the counts would be many times the limits.
ARRIVAL_JITTER = 0.05
TIME_LIMIT = float(os.environ.get("TEND_OUTBOX_FAULT_SECONDS", "240" if FULL else "90"))


def _env(tmp_path: Path) -> dict[str, str]:
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
           f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tend.messaging.tests.outbox_probe_settings",
        TEND_DATABASE_URL=url, TEND_DB_RLS="1" if settings.TEND_DB_RLS else "0",
        TEND_DATA_DIR=str(tmp_path), TEND_SECRET_KEY=settings.SECRET_KEY,
        TEND_TICK_SECONDS="30", TEND_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        TEND_OUTBOX_MAX_IN_FLIGHT=str(MAX_IN_FLIGHT), TEND_OUTBOX_LEASE_SECONDS="4",
        # Three workers, the fake and PostgreSQL share two cores here: let a paced send
        # start up to 40 ms late (the slots are spaced for it; the rate check stays exact).
        TEND_OUTBOX_RATE_TOLERANCE="0.04",
        PYTHONUNBUFFERED="1",
    )
    return env


def _seed(tenant, fake: FakeTelegram) -> ChannelAccount:
    account = ChannelAccount(tenant=tenant, kind="TELEGRAM", name="Fault bot", status="ACTIVE",
                             settings={"api_base": fake.url}, rate_per_second=RATE,
                             rate_per_chat_per_second=1, is_default=True)
    account.set_credentials({"token": fake.token})  # the workers share our secret key
    with tenant_scope(tenant):
        account.save()
        contacts = Contact.objects.bulk_create(
            [Contact(tenant=tenant, first_name=f"P{i}", display_name=f"P{i}")
             for i in range(CHATS)], batch_size=1000)
        IdentityAlias.objects.bulk_create(
            [IdentityAlias(tenant=tenant, contact=c, type="TELEGRAM", value=str(900_000 + i),
                           is_primary=True) for i, c in enumerate(contacts)], batch_size=1000)
        now = timezone.now()
        Message.objects.bulk_create(
            [Message(tenant=tenant, contact=contacts[i % CHATS], account=account,
                     channel="TELEGRAM", direction="OUTBOUND", status="QUEUED",
                     body=f"message {i}", queued_at=now, next_attempt_at=now,
                     dedupe_key=f"fault:{i}") for i in range(MESSAGES)], batch_size=2000)
    return account


def _start(env: dict[str, str], n: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tend.cli", "worker", "--interval", "1",
         "--worker-id", f"fault-{n}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.postgres
@pytest.mark.exclusive
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL: worker processes cannot reach the in-memory "
                           "SQLite test database")
def test_killed_workers_and_failing_provider_lose_nothing(transactional_db, tmp_path,
                                                          make_tenant):
    tenant = make_tenant("Faults", slug="faults")
    rng = random.Random(5)
    with FakeTelegram() as fake:
        blocked = [900_000 + i for i in rng.sample(range(CHATS), BLOCKED)]
        for chat in blocked:
            fake.block(chat)
        # Five 429s first (each pauses the bot for a second), then 3 % of sends fail at
        # random: 5xx, timeouts (the fake accepts the message but answers too late), 429s.
        fake.script(FakeTelegram.rate_limited(1), times=5, op="sendMessage")
        fake.fail_randomly(0.03, seed=11, op="sendMessage", faults=(
            FakeTelegram.server_error(502), FakeTelegram.server_error(500),
            FakeTelegram.server_error(503), Delay(1.5), Delay(1.5)))
        account = _seed(tenant, fake)
        env = _env(tmp_path)
        workers = {n: _start(env, n) for n in range(WORKERS)}
        started = time.monotonic()
        kills = 0
        next_kill = started + 2.0
        with system_scope():
            def open_count() -> int:
                return Message.objects.filter(account=account,
                                              status__in=["QUEUED", "SENDING"]).count()

            try:
                while time.monotonic() - started < TIME_LIMIT:
                    remaining = open_count()
                    if remaining == 0:
                        break
                    # Kill only a worker caught with messages in flight (one still starting
                    # up would prove nothing), and keep one other working.
                    active = [n for n, proc in workers.items() if Message.objects.filter(
                        account=account, status="SENDING",
                        leased_by__contains=f"-{proc.pid}-").exists()]
                    due = time.monotonic() >= next_kill
                    if due and len(active) >= 2 and remaining > MESSAGES // 10:
                        n = rng.choice(active)
                        workers[n].send_signal(signal.SIGKILL)
                        workers[n].wait(10)
                        kills += 1
                        workers[max(workers) + 1] = _start(env, max(workers) + 1)
                        del workers[n]
                        next_kill = time.monotonic() + rng.uniform(*KILL_SPACING)
                    time.sleep(0.25)
            finally:
                for proc in workers.values():
                    proc.send_signal(signal.SIGTERM)
                errors = [proc.communicate(timeout=60)[1] for proc in workers.values()]
            elapsed = time.monotonic() - started
            statuses = Counter(Message.objects.filter(account=account)
                               .values_list("status", flat=True))
        sent_ids = Counter(r.data.get("tend_message_id") for r in fake.requests("sendMessage")
                           if r.fault == "" or r.fault == "Delay")
        accepted = Counter(m.params.get("tend_message_id") for m in fake.sent)
        lost_answers = sum(1 for r in fake.requests("sendMessage") if r.fault == "Delay")
        window = 1.0 - ARRIVAL_JITTER
        bot_rate = fake.max_rate(f"bot:{fake.token}", window)
        chat_rates = [fake.max_rate(k, window) for k in fake.rate_keys()
                      if k.startswith("chat:")]

    print(f"\n{MESSAGES} messages in {elapsed:.1f}s, {kills} kills, statuses {dict(statuses)}")
    for text in errors:  # each worker's counts as it stopped, and any traceback
        print("\n".join(line for line in text.splitlines() if "outbox worker" in line))
        if "Traceback" in text:
            print(text[text.index("Traceback"):][:3000])
    assert kills >= 3, f"only {kills} kills in {elapsed:.0f}s"
    assert set(statuses) <= {"SENT", "FAILED", "DEAD"}, (statuses, errors)
    assert sum(statuses.values()) == MESSAGES
    assert statuses["FAILED"] >= MESSAGES // CHATS * BLOCKED
    duplicates = sum(n - 1 for n in accepted.values() if n > 1)
    bound = kills * MAX_IN_FLIGHT + lost_answers
    assert duplicates <= bound, (duplicates, kills, lost_answers)
    # Every SENT message was accepted by the fake at least once.
    with system_scope():
        sent = set(Message.objects.filter(account=account, status="SENT")
                   .values_list("pk", flat=True))
    assert {str(pk) for pk in sent} <= set(accepted)
    assert bot_rate <= RATE, bot_rate
    assert max(chat_rates) <= 1, max(chat_rates)
    print(f"duplicates {duplicates} (bound {bound}, lost answers {lost_answers}), "
          f"max rate {bot_rate}/s of {RATE}, requests {len(sent_ids)}")
