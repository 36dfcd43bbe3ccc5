"""Counting requests in fixed windows, in the database (no cache server needed).

`rate_hit` runs at most three single-row statements, each atomic on its own, outside any
surrounding transaction's work (call it before the request's transaction begins, so a
refused request writes nothing else and a counted one stays counted):

1. `UPDATE … SET count = count + 1 WHERE scope = … AND window_start = <this window> AND
   count < limit` — the common case: a slot in the current window;
2. `UPDATE … SET window_start = <this window>, count = 1 WHERE scope = … AND window_start <
   <this window>` — the first request of a new window;
3. `INSERT` the row — the first request ever (a concurrent insert makes it retry step 1).

When none of them counts the request, the window is full: the answer is how many seconds
remain until it ends. Concurrent requests cannot overshoot: each UPDATE re-checks its
condition on the locked row.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tend.core.models import Tenant
from tend.ratelimit.models import RateWindow


def _window(now: datetime, period: int) -> datetime:
    seconds = int(now.timestamp()) // period * period
    return datetime.fromtimestamp(seconds, tz=now.tzinfo)


def rate_hit(*, tenant: Tenant, scope: str, limit: int, period: int = 60,
             now: datetime | None = None) -> int:
    """Count one request of `scope` against `limit` per `period` seconds (fixed windows
    aligned on the clock). Returns 0 when it is allowed, else the seconds until the window
    ends (for `Retry-After`). `limit <= 0` means no limit. Run inside `tenant_scope(tenant)`.
    """
    if limit <= 0:
        return 0
    now = now or timezone.now()
    start = _window(now, period)
    rows = RateWindow.objects.filter(tenant=tenant, scope=scope)
    for _attempt in range(2):
        if rows.filter(window_start=start, count__lt=limit).update(count=F("count") + 1):
            return 0
        if rows.filter(window_start__lt=start).update(window_start=start, count=1,
                                                      updated_at=now):
            return 0
        if rows.filter(window_start__gte=start).exists():
            break  # the window is full
        try:
            with transaction.atomic():
                RateWindow.objects.create(tenant=tenant, scope=scope, window_start=start,
                                          count=1)
            return 0
        except IntegrityError:
            continue  # a concurrent first request made the row: count against it
    end = start + timedelta(seconds=period)
    return max(1, math.ceil((end - now).total_seconds()))



def rate_check(*, tenant: Tenant, scope: str, limit: int, period: int = 60,
               now: datetime | None = None) -> int:
    """Whether `scope`'s current window is full, without counting (one read): the seconds
    until it ends, or 0. For callers that count only requests that succeed (`rate_hit`
    afterwards); concurrent requests may then pass the limit by a few."""
    if limit <= 0:
        return 0
    now = now or timezone.now()
    start = _window(now, period)
    full = RateWindow.objects.filter(tenant=tenant, scope=scope, window_start=start,
                                     count__gte=limit).exists()
    if not full:
        return 0
    return max(1, math.ceil((start + timedelta(seconds=period) - now).total_seconds()))
