"""The outbox worker: claim due messages, decide, pace, send, record.

One worker runs in every `tend worker` process and in `tend serve`'s process, and any number
may run against one database.

The cycle, per batch:

1. **Claim** up to `batch_size` due rows — QUEUED with `next_attempt_at` ≤ now, or SENDING
   whose lease expired — in one short transaction: `SELECT … FOR UPDATE SKIP LOCKED` on
   PostgreSQL (concurrent workers take different rows), SQLite's single writer otherwise
   (IMMEDIATE transactions). The rows become SENDING with `lease_until`, `leased_by` and
   `attempts + 1`, and `next_attempt_at` is set to the lease's end, so a claimed row is due
   again exactly when its lease runs out. The transaction commits before anything is sent.
2. **Decide** for the whole batch (`decide.BatchFacts`): address, consent, quiet hours,
   WhatsApp's window; messages that cannot go are settled at once.
3. **Pace**: slots from the shared limiter (`limiter.take`) per account and per chat.
4. **Send** outside any transaction, concurrently in a thread pool (providers keep their
   keep-alive HTTP clients per account); each send waits for its slot.
5. **Record** as soon as answers come back, in batches: SENT with the provider's message id
   (or the retry, dead letter or failure) in one `UPDATE` per batch guarded by
   `status = SENDING AND leased_by = me`, MESSAGE_SENT activities in one insert, then
   `message_status_changed` after commit.

The duplicate bound. A message can reach the provider twice only if the first send was
accepted and its acceptance never recorded: the worker died between the two (SIGKILL, power
loss), or the provider accepted but its answer was lost (a timeout). Then the lease expires
and another worker sends again. A killed worker holds at most `max_in_flight` claimed and
unrecorded messages, so each kill costs at most that many duplicates — one per message in
flight — and each lost answer at most one. A re-claim of a SENDING row (attempts > 0 and the
lease expired) is logged as a possible duplicate.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.db.models import F
from django.utils import timezone

from tend.core.bulksql import column_arrays, execute_bound
from tend.core.models import Tenant
from tend.core.tenancy import system_scope, tenant_scope
from tend.messaging.choices import MessageDirection, MessageStatus
from tend.messaging.models import ChannelAccount, Message
from tend.messaging.outbox import backoff, limiter, wake_event
from tend.messaging.outbox.decide import BatchFacts, Verdict, rate_limits
from tend.messaging.providers import OutgoingMessage, Provider, SendError, SendResult, provider_for
from tend.messaging.signals import message_status_changed
from tend.people.choices import ActivityCategory
from tend.people.services.activities import activities_record_many

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
ACTIVITY_SOURCE = "messaging.outbox"
# How long an answer may wait to be written with others (the duplicate window grows with it).
RECORD_DELAY = 0.1
# Messages per batch that wait for their chat to free up within the horizon (each takes an
# account slot of its own); more go back in the queue until their chat is free.
MAX_LATER = 20
RECORD_FIELDS = ["status", "provider_message_id", "sent_at", "failed_at", "error_code", "error",
                 "skip_reason", "next_attempt_at", "lease_until", "attempts", "to_address",
                 "updated_at"]


def write_results(messages: list[Message], worker_id: str) -> dict[Any, str]:
    """Write `RECORD_FIELDS` of `messages`, only where the row is still SENDING under our
    lease; returns the status written for each primary key written.

    One `UPDATE … FROM` the new values (PostgreSQL: one array per column through `unnest`,
    bound server-side; SQLite: `VALUES` rows, 500 a statement). Django's `bulk_update`
    builds a `CASE WHEN` per field and row, which cost more CPU than the sends it records.
    A row whose campaign was paused while it was in flight (`hold_requested`) goes to HELD
    where it would have gone back to QUEUED (a retry or a deferral), so a paused campaign
    never sends it (see `services.outbox.messages_hold`)."""
    if not messages:
        return {}
    table = connection.ops.quote_name(Message._meta.db_table)
    fields: list[Any] = [Message._meta.get_field(name) for name in RECORD_FIELDS]
    pk_field = Message._meta.pk
    assert pk_field is not None
    postgres = connection.vendor == "postgresql"
    quote = connection.ops.quote_name

    status = f"v.c{1 + RECORD_FIELDS.index('status')}"
    queued, held, sending = (f"'{s}'" for s in (MessageStatus.QUEUED, MessageStatus.HELD,
                                                  MessageStatus.SENDING))
    sets = []
    for i, model_field in enumerate(fields, start=1):
        expr = f"v.c{i}"
        if model_field.name == "status":
            expr = (f"CASE WHEN {table}.hold_requested AND {expr} = {queued} "
                    f"THEN {held} ELSE {expr} END")
        sets.append(f"{quote(model_field.column)} = {expr}")
    false = "false" if postgres else "0"
    sets.append(f"hold_requested = CASE WHEN {status} IN ({queued}, {sending}) "
                f"THEN {table}.hold_requested ELSE {false} END")
    # On PostgreSQL the status test is written `(…) IS TRUE`, which the planner cannot match
    # to the due index's predicate (status QUEUED or SENDING): each row is then found by its
    # primary key. With statistics older than a large queue (a million rows just queued,
    # before autovacuum's ANALYZE), `status = 'SENDING'` made it scan the due index and join
    # every due row against the batch: 330 ms a batch at 100,000 due, growing with the queue.
    mine = (f"({table}.status = {sending}) IS TRUE" if postgres
            else f"{table}.status = {sending}")
    where = (f"WHERE {table}.id = v.c0 AND {mine} "
             f"AND {table}.leased_by = %s RETURNING id, status")
    written: dict[Any, str] = {}
    if postgres:
        # One array per column, bound server-side (`core.bulksql`): the statement stays the
        # same whatever the batch, and PostgreSQL parses each array once.
        source, arrays = column_arrays(
            [pk_field, *fields],
            [[m.pk, *(getattr(m, f.attname) for f in fields)] for m in messages], alias="v")
        _count, rows = execute_bound(
            f"UPDATE {table} SET {', '.join(sets)} FROM {source} {where}",
            [*arrays, worker_id], fetch=True)
        return dict(rows)
    names = ", ".join(f"c{i}" for i in range(len(fields) + 1))
    with connection.cursor() as cursor:
        row = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
        for start in range(0, len(messages), 500):
            chunk = messages[start:start + 500]
            params: list[Any] = []
            for message in chunk:
                params.append(pk_field.get_db_prep_value(message.pk, connection))
                params.extend(f.get_db_prep_save(getattr(message, f.attname), connection)
                              for f in fields)
            cursor.execute(
                f"WITH v ({names}) AS (VALUES {', '.join([row] * len(chunk))}) "
                f"UPDATE {table} SET {', '.join(sets)} FROM v {where}",
                [*params, worker_id])
            written.update((pk_field.to_python(pk), status) for pk, status in cursor.fetchall())
    return written


def _at(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=timezone.get_current_timezone())


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


@dataclass
class Run:
    """A worker's back-to-back slots under one key: nobody else's slots start before
    `end + tolerance` (see `limiter`). `end` grows as grants continue it."""

    end: float


@dataclass
class Job:
    """One message on its way to a provider."""

    message: Message
    account: ChannelAccount
    provider: Provider
    outgoing: OutgoingMessage
    not_before: float = 0.0
    keys: tuple[str, ...] = ()
    # A paced send must start by then or not at all (see `limiter.TOLERANCE`).
    deadline: float = float("inf")
    # The most sends of this worker under `keys[0]` one second may hold (0: not paced).
    window: int = 0
    # The run of slots this job's slot belongs to (a late send may go while the run lasts
    # a second beyond it).
    run: Run | None = None


@dataclass
class Outcome:
    job: Job
    result: SendResult | None = None
    error: SendError | None = None
    # Not sent at all: the key was paused by a 429 while the job waited for its slot.
    paused_until: float | None = None


@dataclass
class Stats:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    deferred: int = 0
    reclaimed: int = 0
    lost: int = 0  # answers that came back after our lease was taken over
    late: int = 0  # paced sends that missed their slot and took a new one
    carried: int = 0  # paced sends that started late, within the tolerance
    held: int = 0  # to be tried again, but held back meanwhile (a campaign paused)
    by_code: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        return ", ".join(f"{name} {getattr(self, name)}" for name in (
            "claimed", "sent", "retried", "failed", "dead", "skipped", "deferred", "reclaimed",
            "lost", "late", "carried", "held"))


class WindowLog:
    """When this worker's latest paced sends started, per key: a send may start only when
    fewer than its limit started in the last second. Slots are spaced for the rate, so this
    holds back only the send one second of slots after a late one (see `limiter`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: dict[str, deque[float]] = defaultdict(deque)

    def admit(self, key: str, limit: int) -> float:
        """Count a send starting now and return 0, or return the seconds until it may."""
        with self._lock:
            now = time.time()
            starts = self._starts[key]
            while starts and starts[0] <= now - 1.0 - limiter.WINDOW_GUARD:
                starts.popleft()
            if len(starts) < limit:
                starts.append(now)
                return 0.0
            return starts[0] + 1.0 + limiter.WINDOW_GUARD - now


class OutboxWorker:
    """Claims and sends outbox messages until `stop` is set (see the module docstring)."""

    def __init__(self, *, worker_id: str | None = None, batch_size: int | None = None,
                 concurrency: int | None = None, max_in_flight: int | None = None,
                 lease_seconds: float | None = None, poll_seconds: float | None = None,
                 stop: threading.Event | None = None) -> None:
        from tend.core.worker import new_worker_id

        self.worker_id = (worker_id or f"outbox-{new_worker_id()}")[:64]
        # Who takes rate slots (see `limiter.take`): this worker object, not its id, which a
        # restarted process may reuse.
        self.holder = f"{self.worker_id}:{secrets.token_hex(4)}"
        self.windows = WindowLog()
        self._runs: dict[str, Run] = {}
        self.batch_size = batch_size or int(_setting("TEND_OUTBOX_BATCH", 200))
        self.concurrency = concurrency or int(_setting("TEND_OUTBOX_CONCURRENCY", 32))
        self.max_in_flight = max_in_flight or int(_setting("TEND_OUTBOX_MAX_IN_FLIGHT", 500))
        self.lease = timedelta(seconds=lease_seconds or float(
            _setting("TEND_OUTBOX_LEASE_SECONDS", 120)))
        self.poll_seconds = poll_seconds or float(_setting("TEND_OUTBOX_POLL_SECONDS", 1.0))
        self.stop = stop or threading.Event()
        self.stats = Stats()
        self.inflight: dict[Future[Outcome], Job] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._paced_pool: ThreadPoolExecutor | None = None
        # Keys paused by a 429 seen in this process: later jobs skip the round trip.
        self._paused: dict[str, float] = {}
        self._tenants: dict[Any, tuple[float, Tenant]] = {}
        self._warm: set[Any] = set()
        self._done: list[Outcome] = []
        self._done_since = 0.0
        # How far ahead of now a batch's first paced send is slotted (see `_pace`).
        self.lead = limiter.LEAD

    # -- claim ---------------------------------------------------------------------------

    def claim(self, limit: int) -> list[Message]:
        """Lease up to `limit` due messages to this worker (committed before returning)."""
        now = timezone.now()
        until = now + self.lease
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # The oldest due rows come from the due index in its order, whatever the
                # statistics say. With statistics older than a large queue, the planner
                # expected a handful of due rows and sorted all of them for every claim
                # (66 ms a claim at 100,000 due, growing with the queue).
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('enable_sort', 'off', true), "
                                   "set_config('enable_bitmapscan', 'off', true)")
            rows = list(
                Message.objects.select_for_update(skip_locked=True)
                .filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
                        next_attempt_at__lte=now, direction=MessageDirection.OUTBOUND)
                .order_by("next_attempt_at")
                .values_list("id", "status", "attempts", "hold_requested")[:limit])
            if not rows:
                return []
            # A message held back while in flight whose worker died: held, not sent again.
            held = [pk for pk, status, _attempts, hold in rows
                    if hold and status == MessageStatus.SENDING]
            if held:
                self.stats.held += Message.objects.filter(pk__in=held).update(
                    status=MessageStatus.HELD, lease_until=None, updated_at=now)
            rows = [row for row in rows if row[0] not in held]
            ids = [pk for pk, _status, _attempts, _hold in rows]
            Message.objects.filter(pk__in=ids).update(
                status=MessageStatus.SENDING, lease_until=until, next_attempt_at=until,
                leased_by=self.worker_id, attempts=F("attempts") + 1, updated_at=now)
        if not rows:
            return []
        for pk, status, attempts, _hold in rows:
            if status == MessageStatus.SENDING:
                self.stats.reclaimed += 1
                logger.warning(
                    "outbox: message %s re-claimed after its lease expired (attempt %d); if "
                    "the provider accepted the earlier attempt, this send is a duplicate",
                    pk, attempts + 1)
        self.stats.claimed += len(rows)
        messages = list(Message.objects.filter(pk__in=ids).select_related("template"))
        messages.sort(key=lambda m: (m.next_attempt_at, m.queued_at))
        return messages

    # -- decide and pace -----------------------------------------------------------------

    def _tenant_map(self, ids: set[Any]) -> dict[Any, Tenant]:
        now = time.monotonic()
        missing = [pk for pk in ids if pk not in self._tenants or self._tenants[pk][0] < now]
        if missing:
            for tenant in Tenant.objects.filter(pk__in=missing):
                self._tenants[tenant.pk] = (now + 30.0, tenant)
        return {pk: self._tenants[pk][1] for pk in ids if pk in self._tenants}

    def dispatch(self, messages: list[Message]) -> list[Outcome | tuple[Message, Verdict]]:
        """Decide, pace and submit `messages`; returns the ones settled without sending."""
        now = timezone.now()
        accounts = {a.pk: a for a in ChannelAccount.objects.filter(
            pk__in={m.account_id for m in messages if m.account_id})}
        providers: dict[str, Provider | None] = {}
        for account in accounts.values():
            if account.kind not in providers:
                try:
                    providers[account.kind] = provider_for(account.kind)
                except KeyError:
                    providers[account.kind] = None
        facts = BatchFacts(messages, accounts, providers,
                           self._tenant_map({m.tenant_id for m in messages}))
        settled: list[Outcome | tuple[Message, Verdict]] = []
        ready: dict[Any, list[tuple[Message, Verdict]]] = defaultdict(list)
        for message in messages:
            verdict = facts.decide(message, now)
            if verdict.outcome == "send":
                ready[message.account_id].append((message, verdict))
            else:
                settled.append((message, verdict))
        for account_id, items in ready.items():
            account = accounts[account_id]
            provider = providers[account.kind]
            assert provider is not None
            per_second, per_chat = rate_limits(account, provider)
            if account.pk not in self._warm:
                self._warm.add(account.pk)
                warm = getattr(provider, "warm", None)
                if warm is not None:
                    warm(account)
            account_key = f"acct:{account.pk}"
            if per_second is None and per_chat is None:
                for message, verdict in items:
                    self._submit(Job(message, account, provider,
                                     self._outgoing(message, verdict, account), 0.0,
                                     (account_key,)))
                continue
            if per_second is not None:
                per_second = limiter.pacing_rate(per_second)
            self._pace(account, provider, items, per_second, per_chat, settled)
        return settled

    def _pace(self, account: ChannelAccount, provider: Provider,
              items: list[tuple[Message, Verdict]], per_second: float | None,
              per_chat: float | None, settled: list[Outcome | tuple[Message, Verdict]]) -> None:
        """Take send slots for `items` and submit them, each to start at its slot.

        Everything that can be done before the slots are taken is (the requests are built,
        the chats' next free times read), because the slots start ticking at once: the
        first of them starts `self.lead` seconds ahead, and `self.lead` follows how long
        taking the slots and submitting the sends took lately, so that the first send is
        not already late when its thread gets it."""
        account_key = f"acct:{account.pk}"
        jobs = {message.pk: Job(message, account, provider,
                                self._outgoing(message, verdict, account))
                for message, verdict in items}
        began = time.time()
        wall = began + self.lead
        # A chat busy for less than the horizon: its message takes an account slot of its
        # own once the chat is free, after the others went (rare: one person, several
        # messages at once).
        later: list[tuple[Message, Verdict, float]] = []
        if per_chat is not None:
            # One message per person per batch, and only to people whose chat is free by
            # the first slot (read without a lock; `take_at` below decides). The others
            # wait for their chat: back in the queue until it is free.
            free = limiter.free_at([f"chat:{account.pk}:{v.to}" for _m, v in items])
            go = []
            seen: dict[str, float] = {}
            for message, verdict in items:
                key = f"chat:{account.pk}:{verdict.to}"
                ready_at = max(free.get(key, 0.0), seen.get(key, 0.0))
                if ready_at > wall:
                    if (key not in seen and len(later) < MAX_LATER
                            and ready_at <= wall + limiter.HORIZON_SECONDS):
                        later.append((message, verdict, ready_at))
                    else:
                        settled.append((message, Verdict("defer", reason="rate", to=verdict.to,
                                                         until=_at(ready_at))))
                    seen[key] = ready_at + 1.0 / per_chat
                    continue
                seen[key] = wall + 1.0 / per_chat
                go.append((message, verdict))
            items = go
        window = limiter.window_limit(per_second) if per_second is not None else 0
        if items:
            self._slot_and_submit(jobs, account_key, items, wall, per_second, per_chat, settled,
                                  window)
            # How long the slots took to take and hand out: the next batch starts that far
            # ahead, with room to spare (quickly up, slowly down).
            spent = time.time() - began
            self.lead = min(limiter.MAX_LEAD, max(limiter.LEAD, 2 * spent, self.lead * 0.9))
        for message, verdict, ready_at in later:
            if per_second is not None:
                one = self._take(account_key, per_second, 1, ready_at)
                if one.count == 0:
                    settled.append((message, Verdict("defer", reason="rate", to=verdict.to,
                                                     until=_at(max(one.start, ready_at)))))
                    continue
                ready_at = one.start
            self._slot_and_submit(jobs, account_key, [(message, verdict)], ready_at, None,
                                  per_chat, settled, window)

    def _slot_and_submit(self, jobs: dict[Any, Job], account_key: str,
                         items: list[tuple[Message, Verdict]], wall: float,
                         per_second: float | None, per_chat: float | None,
                         settled: list[Outcome | tuple[Message, Verdict]],
                         window: int = 0) -> None:
        """Account slots from `wall` on (unless `per_second` is None: all at `wall`), then
        each item's chat slot at its account slot; submit what got both. `window` is the
        account's limit per second for the sends' window check (0: none).

        Messages without a slot come due again `limiter.PREFETCH` seconds before the slot
        each would take next (as if nobody else took any meanwhile), so the next batch is
        slotted while this one is still going out, and only about a horizon's worth of them
        comes back each time."""
        account = jobs[items[0][0].pk].account
        slots: list[float] = [wall] * len(items)
        if per_second is not None:
            grant = self._take(account_key, per_second, len(items), wall)
            slots = [grant.slot(i) for i in range(grant.count)]
            for k, (message, verdict) in enumerate(items[grant.count:]):
                settled.append((message, Verdict(
                    "defer", reason="rate", to=verdict.to,
                    until=_at(max(grant.slot(grant.count + k) - limiter.PREFETCH, wall)))))
            items = items[:grant.count]
        chat_grants: dict[str, limiter.Grant] = {}
        if per_chat is not None and items:
            # Each send goes at its account slot, so its chat's slot is taken at exactly that
            # time (a send moved later than its account slot would crowd the account's rate;
            # one earlier than its chat slot, the chat's). A chat taken meanwhile by another
            # worker makes its message wait; its account slot stays unused.
            chat_grants = limiter.take_at(
                {f"chat:{account.pk}:{v.to}": slots[i] for i, (_m, v) in enumerate(items)},
                per_chat, safety=limiter.CHAT_SAFETY)
        tolerance = limiter.tolerance()
        if per_chat is not None:
            # A chat's slots are spaced `CHAT_SAFETY` wider than its rate: a send may be late
            # by no more than that margin (there is no window check per chat).
            tolerance = min(tolerance, 1.0 / (per_chat * limiter.CHAT_SAFETY) - 1.0 / per_chat)
        for i, (message, verdict) in enumerate(items):
            job = jobs[message.pk]
            job.keys = (account_key,)
            job.window = window
            if per_chat is not None:
                chat_key = f"chat:{account.pk}:{verdict.to}"
                chat = chat_grants[chat_key]
                if chat.count == 0:
                    settled.append((message, Verdict(
                        "defer", reason="rate", to=verdict.to, until=_at(chat.start))))
                    continue
                job.keys = (account_key, chat_key)
            job.not_before = slots[i]
            job.deadline = slots[i] + tolerance
            job.run = self._runs.get(account_key) if window else None
            self._submit(job)

    def _take(self, key: str, rate: float, n: int, now: float) -> limiter.Grant:
        """`limiter.take` as this worker's holder, keeping track of its runs of slots."""
        grant = limiter.take(key, rate, n, now=now, holder=self.holder)
        if grant.count:
            run = self._runs.get(key)
            if grant.continued and run is not None and abs(run.end - grant.start) < 1e-6:
                run.end = grant.end
            else:
                self._runs[key] = Run(grant.end)
        return grant

    def _may_go_late(self, job: Job, at: float) -> bool:
        """Whether a paced send may still start at `at`: within the tolerance of its slot,
        or (a send limited per account only) while its worker's run of slots lasts a second
        beyond it, so nobody else's send can share its window (see `limiter`)."""
        if at <= job.deadline:
            return True
        return (job.run is not None and len(job.keys) == 1
                and at + 1.0 <= job.run.end + limiter.tolerance())

    @staticmethod
    def _outgoing(message: Message, verdict: Verdict, account: ChannelAccount
                  ) -> OutgoingMessage:
        message.to_address = verdict.to
        # Providers may add headers from the message row (email: the unsubscribe link).
        headers = getattr(provider_for(account.kind), "outbox_headers", None)
        return OutgoingMessage(
            message_id=str(message.pk), to=verdict.to, body=message.body,
            subject=message.subject, media=list(message.media or []),
            template=verdict.template, purpose=message.purpose,
            status_callback_url=str((account.settings or {}).get("webhook_url", "")),
            headers=headers(account, contact_id=message.contact_id, purpose=message.purpose)
            if headers is not None else {})

    # -- send ----------------------------------------------------------------------------

    def _submit(self, job: Job) -> None:
        # A paced send waits in its thread for its slot: queued behind other sends in a
        # shared pool, it would start after its slot and be re-slotted (throughput collapses
        # once the sends ahead of it take longer than the slots' spacing). Paced sends get a
        # pool with a thread for every message in flight; the rate bounds how many of them
        # talk to the provider at once. Unpaced sends share `concurrency` threads.
        paced = job.deadline != float("inf")
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                            thread_name_prefix=f"outbox-{self.worker_id[-8:]}")
        if paced and self._paced_pool is None:
            self._paced_pool = ThreadPoolExecutor(
                max_workers=max(self.concurrency, self.max_in_flight),
                thread_name_prefix=f"outbox-paced-{self.worker_id[-8:]}")
        pool = self._paced_pool if paced and self._paced_pool is not None else self._pool
        future = pool.submit(self._send, job)
        self.inflight[future] = job

    def _send(self, job: Job) -> Outcome:
        """Runs in a pool thread: no database access here."""
        delay = job.not_before - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time()
        for key in job.keys:
            until = self._paused.get(key, 0.0)
            if until > now:
                return Outcome(job, paused_until=until)
        lease = job.message.lease_until
        if lease is not None and now >= lease.timestamp() - 0.5:
            # This worker stalled past its lease: another one may own the message by now.
            return Outcome(job, paused_until=now)
        if not self._may_go_late(job, now):
            self.stats.late += 1
            return Outcome(job, paused_until=now)  # too late for its slot: take a new one
        if job.window:
            # Fewer than the limit of our sends in the last second, or wait (a send one
            # second of slots after a late one).
            while (wait_for := self.windows.admit(job.keys[0], job.window)) > 0:
                if not self._may_go_late(job, time.time() + wait_for):
                    self.stats.late += 1
                    return Outcome(job, paused_until=time.time())
                time.sleep(wait_for)
            if time.time() > job.not_before + 0.001:
                self.stats.carried += 1
        try:
            return Outcome(job, result=job.provider.send(job.account, job.outgoing))
        except SendError as exc:
            if exc.retry_after:
                until = time.time() + exc.retry_after
                for key in job.keys[:1]:
                    self._paused[key] = max(self._paused.get(key, 0.0), until)
            return Outcome(job, error=exc)
        except Exception as exc:  # a provider bug must not lose the message
            logger.exception("outbox: provider %s raised on message %s", job.account.kind,
                             job.message.pk)
            return Outcome(job, error=SendError(f"{type(exc).__name__}: {exc}",
                                                code="exception"))

    # -- record --------------------------------------------------------------------------

    def record(self, outcomes: list[Outcome | tuple[Message, Verdict]]) -> int:
        """Write what happened to each message, in one transaction; returns rows written."""
        if not outcomes:
            return 0
        now = timezone.now()
        changed: list[Message] = []
        previous: dict[Any, str] = {}
        sent: list[Message] = []
        paused_keys: dict[str, float] = {}
        for item in outcomes:
            if isinstance(item, Outcome):
                message = item.job.message
                if item.error is not None and item.error.retry_after and item.job.keys:
                    key = item.job.keys[0]
                    paused_keys[key] = max(paused_keys.get(key, 0.0), item.error.retry_after)
                if item.error is not None and item.error.account_error:
                    from tend.messaging.services.accounts import account_mark_error

                    account_mark_error(account=item.job.account, error=item.error.message)
                self._apply_outcome(message, item, now)
            else:
                message, verdict = item
                self._apply_verdict(message, verdict, now)
            previous[message.pk] = MessageStatus.SENDING
            message.updated_at = now
            changed.append(message)
            if message.status in (MessageStatus.SENT, MessageStatus.DELIVERED):
                sent.append(message)
        for key, seconds in paused_keys.items():
            limiter.pause(key, seconds)
        with transaction.atomic():
            mine = write_results(changed, self.worker_id)
            if len(mine) != len(changed):
                # Another worker took some over after our lease ran out; keep only ours.
                self.stats.lost += len(changed) - len(mine)
                changed = [m for m in changed if m.pk in mine]
                sent = [m for m in sent if m.pk in mine]
            for message in changed:
                if mine[message.pk] != message.status:  # held back while it was in flight
                    self.stats.held += 1
                    message.status = mine[message.pk]
            if sent:
                self._activities(sent, now)
            by_tenant: dict[Any, list[Message]] = defaultdict(list)
            for message in changed:
                if message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
                    by_tenant[message.tenant_id].append(message)
            if by_tenant and message_status_changed.receivers:
                tenants = self._tenant_map(set(by_tenant))
                transaction.on_commit(lambda: self._announce(tenants, by_tenant, previous))
        for message in changed:
            counter = {MessageStatus.SENT: "sent", MessageStatus.DELIVERED: "sent",
                       MessageStatus.FAILED: "failed", MessageStatus.BOUNCED: "failed",
                       MessageStatus.DEAD: "dead",
                       MessageStatus.SKIPPED: "skipped"}.get(MessageStatus(message.status))
            if counter:
                setattr(self.stats, counter, getattr(self.stats, counter) + 1)
            if message.error_code:
                self.stats.by_code[message.error_code] += 1
        return len(changed)

    def _apply_outcome(self, message: Message, outcome: Outcome, now: datetime) -> None:
        if outcome.result is not None:
            status = outcome.result.status if outcome.result.status in (
                MessageStatus.SENT, MessageStatus.DELIVERED) else MessageStatus.SENT
            message.status = status
            message.provider_message_id = str(outcome.result.provider_message_id)[:200]
            message.sent_at = now
            message.lease_until = None
            message.error_code, message.error = "", ""
            return
        if outcome.paused_until is not None:
            self.stats.deferred += 1
            message.status = MessageStatus.QUEUED
            message.attempts = max(0, message.attempts - 1)
            message.next_attempt_at = datetime.fromtimestamp(
                outcome.paused_until, tz=timezone.get_current_timezone())
            message.lease_until = None
            return
        error = outcome.error
        assert error is not None
        message.error_code = (error.code or ("permanent" if error.permanent else "transient"))[:60]
        message.error = error.message[:MAX_ERROR_CHARS]
        message.lease_until = None
        if error.permanent or error.account_error:
            # A mail server refusing the recipient (code "bounced") is a bounce, not a failure.
            message.status = (MessageStatus.BOUNCED if error.code == "bounced"
                              else MessageStatus.FAILED)
            message.failed_at = now
        elif message.attempts >= backoff.max_attempts():
            message.status = MessageStatus.DEAD
            message.failed_at = now
        else:
            self.stats.retried += 1
            message.status = MessageStatus.QUEUED
            message.next_attempt_at = now + timedelta(
                seconds=backoff.delay(message.attempts, retry_after=error.retry_after))

    def _apply_verdict(self, message: Message, verdict: Verdict, now: datetime) -> None:
        message.lease_until = None
        if verdict.to:
            message.to_address = verdict.to
        if verdict.outcome == "skip":
            message.status = MessageStatus.SKIPPED
            message.skip_reason = verdict.reason[:40]
        elif verdict.outcome == "fail":
            message.status = MessageStatus.FAILED
            message.error_code = verdict.code[:60]
            message.error = verdict.error[:MAX_ERROR_CHARS]
            message.failed_at = now
        else:  # defer: not an attempt
            self.stats.deferred += 1
            message.status = MessageStatus.QUEUED
            message.attempts = max(0, message.attempts - 1)
            message.next_attempt_at = verdict.until or now

    def _activities(self, sent: list[Message], now: datetime) -> None:
        """MESSAGE_SENT on each contact's timeline, with the contacts' activity metrics (one
        statement on PostgreSQL, see `activities_record_many`)."""
        communication = str(ActivityCategory.COMMUNICATION)
        rows = []
        for m in sent:
            pk = str(m.pk)
            rows.append({
                "tenant_id": m.tenant_id, "contact_id": m.contact_id, "type": "MESSAGE_SENT",
                "category": communication, "channel": m.channel,
                "title": (m.subject or m.body or "")[:300],
                "metadata": {"account": str(m.account_id), "message": pk},
                "source": ACTIVITY_SOURCE, "source_event_id": pk, "occurred_at": now,
                "actor_user_id": m.sender_id, "related_type": "messaging.message",
                "related_id": pk, "created_by_id": m.sender_id})
        activities_record_many(rows, now=now)

    @staticmethod
    def _announce(tenants: dict[Any, Tenant], by_tenant: dict[Any, list[Message]],
                  previous: dict[Any, str]) -> None:
        for tenant_id, messages in by_tenant.items():
            tenant = tenants.get(tenant_id)
            if tenant is None:
                continue
            with tenant_scope(tenant):
                for message in messages:
                    try:
                        message_status_changed.send(
                            sender=Message, tenant=tenant, message=message,
                            status=message.status, previous=previous.get(message.pk, ""))
                    except Exception:
                        logger.exception("outbox: a message_status_changed receiver failed")

    # -- loops ---------------------------------------------------------------------------

    def step(self, *, wait_seconds: float = 0.05) -> bool:
        """Claim if there is room, collect finished sends and record them in batches; True if
        anything happened."""
        progressed = False
        # Answers not yet written count as in flight: a worker killed now loses both.
        room = self.max_in_flight - len(self.inflight) - len(self._done)
        if room > 0 and room >= min(self.batch_size, self.max_in_flight) // 2:
            messages = self.claim(min(room, self.batch_size))
            if messages:
                progressed = True
                self.record(self.dispatch(messages))  # type: ignore[arg-type]
        if self.inflight:
            done, _pending = wait(list(self.inflight), timeout=0 if progressed else wait_seconds,
                                  return_when=FIRST_COMPLETED)
            if done:
                if not self._done:
                    self._done_since = time.monotonic()
                for f in done:
                    self._done.append(f.result())
                    del self.inflight[f]
                progressed = True
        # Answers are written in batches: when enough came back, when the oldest has waited
        # long enough, or when nothing else is in flight.
        if self._done and (len(self._done) >= self.batch_size or not self.inflight
                           or time.monotonic() - self._done_since >= RECORD_DELAY):
            outcomes, self._done = self._done, []
            self.record(outcomes)  # type: ignore[arg-type]
            progressed = True
        return progressed

    def run_until_idle(self, *, timeout: float = 60.0, within: float = 0.0) -> Stats:
        """Work until nothing is due and nothing is in flight (tests, `--once`). With
        `within`, keep going while messages come due in that many seconds (deferred by a
        rate limit, say)."""
        deadline = time.monotonic() + timeout
        with system_scope():
            while time.monotonic() < deadline:
                if self.step() or self.inflight or self._done:
                    continue
                if within <= 0 or not Message.objects.filter(
                        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING],
                        direction=MessageDirection.OUTBOUND,
                        next_attempt_at__lte=timezone.now() + timedelta(seconds=within),
                ).exists():
                    break
                time.sleep(0.02)
        return self.stats

    def run(self) -> None:
        """Work until `stop` is set; sleeps on `outbox_wake()` with a `poll_seconds` fallback.
        Database outages are logged and waited out."""
        logger.info("outbox worker %s started", self.worker_id)
        try:
            with system_scope():
                while not self.stop.is_set():
                    try:
                        if self.step() or self.inflight or self._done:
                            continue
                    except DatabaseError:
                        logger.exception("outbox worker %s: database error; retrying",
                                         self.worker_id)
                        connections.close_all()
                        self.stop.wait(max(self.poll_seconds, 1.0))
                        continue
                    close_old_connections()
                    if wake_event.wait(self.poll_seconds):
                        wake_event.clear()
        finally:
            self.shutdown()
            logger.info("outbox worker %s stopped: %s", self.worker_id, self.stats.summary())

    def shutdown(self, *, close_connections: bool = True) -> None:
        """Let in-flight sends finish and record them (their leases would otherwise have to
        expire before another worker picks them up); then stop the sending threads and, for a
        worker thread that ends here, close its database connections."""
        if self._pool is None and self._paced_pool is None:
            return
        try:
            if self.inflight or self._done:
                done, _pending = wait(list(self.inflight), timeout=30)
                outcomes = [*self._done, *(f.result() for f in done)]
                self._done = []
                self.inflight.clear()
                with system_scope():
                    self.record(outcomes)  # type: ignore[arg-type]
        except DatabaseError:
            logger.exception("outbox worker %s: could not record the last sends", self.worker_id)
        finally:
            for pool in (self._pool, self._paced_pool):
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._paced_pool = None
            if close_connections:
                connections.close_all()


def run_outbox_loop(stop: threading.Event) -> None:
    """The outbox loop `tend worker` and `tend serve` run beside the task worker."""
    if not _setting("TEND_OUTBOX_ENABLED", True):
        return
    OutboxWorker(stop=stop).run()


def drain_outbox(*, timeout: float | None = None) -> int:
    """Send what is due now and return how many messages were settled (`tend worker --once`):
    one worker until nothing is due or in flight, or `timeout` seconds
    (`TEND_OUTBOX_DRAIN_SECONDS`, default 600) have passed."""
    if not _setting("TEND_OUTBOX_ENABLED", True):
        return 0
    worker = OutboxWorker()
    try:
        stats = worker.run_until_idle(
            timeout=timeout or float(_setting("TEND_OUTBOX_DRAIN_SECONDS", 600)))
    finally:
        worker.shutdown(close_connections=False)  # the caller's connection goes on
    return stats.sent + stats.failed + stats.dead + stats.skipped
