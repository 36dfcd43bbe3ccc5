"""Rate limits shared by every outbox worker: one database row per key, one statement per take.

The algorithm is GCRA (the generic cell rate algorithm, the "virtual scheduling" form of a
token bucket): each key keeps `tat`, the earliest time its next send may go. Taking n slots
atomically moves `tat` by n intervals and returns the slot times; the worker then starts
each send at its slot. Because slots are spaced exactly one interval apart with no burst
allowance, no window of one second ever holds more than `rate` sends — the guarantee a
token bucket with capacity cannot give (its full bucket plus a second of refill is up to
twice the rate within one second).

Why a database row and not Redis: the limit has to hold across every worker process and
machine, on SQLite and PostgreSQL installs alike, without another service to run. The take
is a short transaction — the row locked with `SELECT … FOR UPDATE` on PostgreSQL, SQLite's
single writer (IMMEDIATE transactions) otherwise — so concurrent workers never hand out the
same slot; it costs one round trip per key per batch, not per message. Slots are handed out
at most `horizon` seconds ahead, so a worker never holds leased messages long while waiting.
Slot times come from each machine's clock: workers on several machines need NTP.

Pacing is only as good as the moment each send really leaves, and a sending thread wakes a
little late now and then (the process was busy). Slots are spaced exactly one interval apart
(`SAFETY` widens them by 0.3 %: `WINDOW_GUARD`, 2 ms a second, between the worker's decision
and the request leaving its thread, plus a millisecond of wake-up), so next to nothing of the
rate is given away up front; what keeps a late send from crowding a window is:

- in the worker that made it: a send may start only when fewer than the limit of its own
  sends under the key started in the last second and `WINDOW_GUARD`
  (`worker.WindowLog`), so the send one
  second of slots after a late one waits for it — the lateness is carried, never added up,
  and no slot is lost;
- against other workers: a worker taking slots right after another worker's (the row's
  `holder` differs and its `tat` is not yet `tolerance()` old) starts them `tolerance()`
  later, so the other's sends up to that late cannot crowd its own. Back-to-back slots of
  one worker need no gap; a key idle for longer than the tolerance needs none either;
- a send that would start more than `tolerance()` (`TEND_OUTBOX_RATE_TOLERANCE`, default
  25 ms) after its slot still goes while its worker holds the key's slots for the next
  second (`Grant.continued` chains a worker's back-to-back grants into one run, and another
  worker's slots can only start `tolerance()` after the run's end); otherwise it goes back in
  the queue and takes a new slot. A worker keeps a busy key's slots taken up to
  `HORIZON_SECONDS` (2 s) ahead, so on a machine slow to wake its threads a late send is
  held back for the window, not re-slotted, and no slot is lost.

Slots start `LEAD` seconds ahead, so the sending thread is already waiting when its slot
comes, and messages that did not get a slot come due again `PREFETCH` seconds before the
slot they would take, so the next batch is claimed and slotted while the current one is
still going out (a key whose slots ran out for even a moment loses that moment's sends).
Providers with a `warm(account)` method have it called once per worker before their first
paced send, so a first send does not pay for building its HTTP client (an SSL context takes
milliseconds) after its slot was checked.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.db import connection, transaction

from tend.messaging.models import OutboxRateBucket

TOLERANCE = 0.025
SAFETY = 1 / 1.003
WINDOW_GUARD = 0.002
LEAD = 0.05
MAX_LEAD = 0.5
CHAT_SAFETY = 1 / 1.05
HORIZON_SECONDS = 2.0
PREFETCH = 1.5


def tolerance() -> float:
    """`TEND_OUTBOX_RATE_TOLERANCE` (seconds a paced send may start late; default 25 ms)."""
    from django.conf import settings

    return float(getattr(settings, "TEND_OUTBOX_RATE_TOLERANCE", TOLERANCE))


def window_limit(rate: float) -> int:
    """The most sends one second may hold at `rate` per second (at least one)."""
    return max(1, math.floor(rate + 1e-9))


def pacing_rate(rate: float) -> float:
    """The rate slots are spaced for: a whole number of sends a second when the rate is one
    or more (2.5/s allows two in any second, so slots 0.4 s apart would crowd a window)."""
    return float(window_limit(rate)) if rate >= 1 else rate


@dataclass(frozen=True)
class Grant:
    """`count` slots starting at `start` (Unix seconds), `interval` apart. `continued`: they
    follow right on the same holder's previous slots (nobody took any in between)."""

    start: float
    count: int
    interval: float
    continued: bool = False

    @property
    def end(self) -> float:
        return self.start + self.count * self.interval

    def slot(self, i: int) -> float:
        return self.start + i * self.interval


def take(key: str, rate: float, n: int, *, now: float | None = None,
         horizon: float = HORIZON_SECONDS, safety: float = SAFETY, holder: str = "",
         gap: float | None = None) -> Grant:
    """Take up to `n` send slots under `key` limited to `rate` per second, all before
    `now + horizon` (0 slots while the key is paused or its next slot lies beyond the
    horizon). `safety` < 1 spaces the slots a little wider than the rate needs.

    `holder` names the taker: when the key's latest slots were taken by another holder and
    are less than `gap` (default `tolerance()`) old, the new slots start `gap` after them,
    so the other holder's sends up to `gap` late cannot crowd them (see the module
    docstring)."""
    interval = 1.0 / (rate * safety)
    now = time.time() if now is None else now
    _ensure(key)
    with transaction.atomic():
        row = (OutboxRateBucket.objects.select_for_update()
               .filter(key=key).values_list("tat", "paused_until", "holder").first())
        if row is None:  # purged since this process created it
            _known.discard(key)
            _ensure(key)
            row = (OutboxRateBucket.objects.select_for_update()
                   .filter(key=key).values_list("tat", "paused_until", "holder").first())
            if row is None:
                return Grant(now, 0, interval)
        tat, paused, last_holder = row
        continued = bool(holder) and last_holder == holder
        if holder and last_holder and last_holder != holder:
            tat += tolerance() if gap is None else gap
        start = max(tat, paused, now)
        continued = continued and start == tat
        # Slots strictly before the horizon's end (a tiny epsilon keeps float noise from
        # adding or dropping one).
        count = max(0, min(n, math.ceil((now + horizon - start) / interval - 1e-9)))
        if count:
            OutboxRateBucket.objects.filter(key=key).update(tat=start + count * interval,
                                                            holder=holder[:80])
    return Grant(start, count, interval, continued)


def free_at(keys: list[str]) -> dict[str, float]:
    """When each key's next slot comes (its `tat` or pause), read without a lock: a hint for
    choosing which messages to pace, not a promise (`take_at` decides)."""
    return {key: max(tat, paused) for key, tat, paused in OutboxRateBucket.objects.filter(
        key__in=set(keys)).values_list("key", "tat", "paused_until")}


def take_at(wanted: dict[str, float], rate: float, *, safety: float = SAFETY
            ) -> dict[str, Grant]:
    """One slot for each key (one person's chat each) at exactly the time given for it, in one
    transaction: granted (count 1, `start` the time asked) when the key is free by then,
    else refused (count 0, `start` when it will be free). The rows are locked in key order,
    so concurrent workers never deadlock, and written back in one statement."""
    interval = 1.0 / (rate * safety)
    unique = sorted(wanted)
    new = [k for k in unique if k not in _known]
    if new:
        OutboxRateBucket.objects.bulk_create([OutboxRateBucket(key=k) for k in new],
                                             ignore_conflicts=True)
        _known.update(new)
    grants: dict[str, Grant] = {}
    with transaction.atomic():
        rows = list(OutboxRateBucket.objects.select_for_update().filter(key__in=unique)
                    .order_by("key").values_list("key", "tat", "paused_until"))
        changed: dict[str, float] = {}
        for key, tat, paused in rows:
            at = wanted[key]
            free = max(tat, paused)
            if free > at:
                grants[key] = Grant(free, 0, interval)
                continue
            grants[key] = Grant(at, 1, interval)
            changed[key] = at + interval
        _write_tats(changed)
    for key in unique:  # purged since this process created it: try again later
        if key not in grants:
            _known.discard(key)
            grants[key] = Grant(wanted[key], 0, interval)
    return grants


def _write_tats(tats: dict[str, float]) -> None:
    """Set each key's `tat` in one statement (PostgreSQL: from two arrays)."""
    if not tats:
        return
    if connection.vendor != "postgresql":
        OutboxRateBucket.objects.bulk_update(
            [OutboxRateBucket(key=k, tat=v) for k, v in tats.items()], ["tat"])
        return
    table = connection.ops.quote_name(OutboxRateBucket._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET tat = v.tat FROM unnest(%s::text[], "
                       f"%s::double precision[]) AS v (key, tat) WHERE {table}.key = v.key",
                       [list(tats), list(tats.values())])


# Keys this process knows to have a row (saves an INSERT … ON CONFLICT per take).
_known: set[str] = set()


def _ensure(key: str) -> None:
    if key not in _known:
        OutboxRateBucket.objects.bulk_create([OutboxRateBucket(key=key)], ignore_conflicts=True)
        _known.add(key)


def pause(key: str, seconds: float, *, now: float | None = None) -> None:
    """Hold every send under `key` for `seconds` (a provider's 429 / retry_after)."""
    now = time.time() if now is None else now
    until = now + max(0.0, seconds)
    _known.discard(key)  # rare: make sure of the row
    _ensure(key)
    OutboxRateBucket.objects.filter(key=key, paused_until__lt=until).update(paused_until=until)


def paused_until(key: str) -> float:
    row = OutboxRateBucket.objects.filter(key=key).values_list("paused_until", flat=True).first()
    return float(row or 0.0)
