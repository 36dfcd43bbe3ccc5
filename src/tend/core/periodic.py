"""The periodic tick: a registry of jobs that run every so often, and the tick that runs them.

Modules register from their `AppConfig.ready()`:

    register_periodic("people.refresh_scores", 3600, refresh_scores)

`func(due_at)` runs under `system_scope()` (it may cross organizations; enter
`tenant_scope` per organization for tenant work, or enqueue tenant tasks). It should be quick
and idempotent; heavy work belongs in tasks it enqueues.

Each registered job has a `PeriodicJob` row holding its `next_run_at`. Every worker calls
`tick(worker_id)` every few seconds. A tick claims due rows one at a time in a short
transaction — `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, the single write lock of an
IMMEDIATE transaction on SQLite — and advances `next_run_at` before committing, so however
many workers tick at once, each due time is claimed by exactly one of them. The job then runs
outside the transaction and its outcome is recorded on the row.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from tend.core.models import PeriodicJob
from tend.core.tenancy import system_scope

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class Periodic:
    name: str
    interval: timedelta
    func: Callable[[datetime], Any]


@dataclass(frozen=True)
class TickRun:
    """What one tick did with one due job."""

    name: str
    due_at: datetime
    ok: bool
    error: str = ""


_registry: dict[str, Periodic] = {}


def register_periodic(name: str, interval_seconds: float, func: Callable[[datetime], Any]) -> None:
    """Run `func(due_at)` every `interval_seconds`. Registering a name again replaces it."""
    if not name or len(name) > 100:
        raise ValueError("a periodic job needs a name of 1 to 100 characters")
    if interval_seconds <= 0:
        raise ValueError(f"interval of {name} must be positive")
    _registry[name] = Periodic(name, timedelta(seconds=interval_seconds), func)


def unregister_periodic(name: str) -> None:
    _registry.pop(name, None)


def periodic_jobs() -> list[Periodic]:
    return sorted(_registry.values(), key=lambda p: p.name)


def schedule_sync(now: datetime | None = None) -> None:
    """Give every registered job a schedule row (first run: now), and pull in rows scheduled
    further out than one interval (the interval was shortened since)."""
    now = now or timezone.now()
    jobs = periodic_jobs()
    if not jobs:
        return
    # Several workers may start at once: ignore_conflicts lets the unique name decide.
    PeriodicJob.objects.bulk_create(
        [PeriodicJob(name=p.name, next_run_at=now) for p in jobs], ignore_conflicts=True
    )
    for p in jobs:
        PeriodicJob.objects.filter(name=p.name, next_run_at__gt=now + p.interval).update(
            next_run_at=now + p.interval
        )


def _next_run(due_at: datetime, interval: timedelta, now: datetime) -> datetime:
    """Keep the rhythm (due + interval) unless that is already past: after downtime, run once
    and carry on from now rather than catching up on every missed run."""
    following = due_at + interval
    return following if following > now else now + interval


def _claim(worker_id: str, now: datetime, skip: set[str]) -> tuple[Periodic, datetime] | None:
    names = [name for name in _registry if name not in skip]
    if not names:
        return None
    try:
        with transaction.atomic():
            row = (
                PeriodicJob.objects.select_for_update(skip_locked=True)
                .filter(name__in=names, next_run_at__lte=now)
                .order_by("next_run_at", "name")
                .first()
            )
            if row is None:
                return None
            periodic = _registry[row.name]
            due_at = row.next_run_at
            row.next_run_at = _next_run(due_at, periodic.interval, now)
            row.last_started_at = now
            row.last_status = "running"
            row.claimed_by = worker_id[:100]
            row.run_count += 1
            row.save(update_fields=["next_run_at", "last_started_at", "last_status",
                                    "claimed_by", "run_count"])
    except OperationalError as exc:
        # SQLite: another writer held the lock past the busy timeout. Nothing was claimed;
        # the next tick tries again.
        if "locked" in str(exc).lower():
            logger.warning("tick %s: database locked, skipping this round", worker_id)
            return None
        raise
    return periodic, due_at


def _record(name: str, worker_id: str, *, ok: bool, error: str) -> None:
    PeriodicJob.objects.filter(name=name, claimed_by=worker_id[:100]).update(
        last_finished_at=timezone.now(), last_status="ok" if ok else "failed",
        last_error=error[-MAX_ERROR_CHARS:],
    )


def tick(worker_id: str, now: datetime | None = None) -> list[TickRun]:
    """Run every registered job that is due, each at most once. Safe to call from any number
    of workers at the same time. Returns what ran (and how it went)."""
    now = now or timezone.now()
    runs: list[TickRun] = []
    with system_scope():
        schedule_sync(now)
        done: set[str] = set()
        while (claimed := _claim(worker_id, now, done)) is not None:
            periodic, due_at = claimed
            done.add(periodic.name)
            try:
                periodic.func(due_at)
            except Exception:
                error = traceback.format_exc()
                logger.exception("periodic job %s failed", periodic.name)
                _record(periodic.name, worker_id, ok=False, error=error)
                runs.append(TickRun(periodic.name, due_at, ok=False, error=error))
            else:
                _record(periodic.name, worker_id, ok=True, error="")
                runs.append(TickRun(periodic.name, due_at, ok=True))
    return runs


# --- the core's own periodic jobs --------------------------------------------------------------


def _prune_task_results(due_at: datetime) -> None:
    from tend.core.services.housekeeping import task_results_fail_lost, task_results_prune

    task_results_fail_lost(older_than=timedelta(days=1))
    task_results_prune(older_than=timedelta(days=settings.TEND_TASK_RESULTS_KEEP_DAYS))


def _prune_idempotency(due_at: datetime) -> None:
    from tend.core.services.idempotency import idempotency_prune

    idempotency_prune()


def _end_expired_memberships(due_at: datetime) -> None:
    from tend.core.services.housekeeping import memberships_end_expired

    memberships_end_expired()


def _fail_stale_jobs(due_at: datetime) -> None:
    from tend.core.services.jobs import jobs_fail_stale

    jobs_fail_stale()


def register_core_periodic() -> None:
    register_periodic("core.prune_task_results", 3600, _prune_task_results)
    register_periodic("core.prune_idempotency_keys", 3600, _prune_idempotency)
    register_periodic("core.end_expired_memberships", 60, _end_expired_memberships)
    register_periodic("core.fail_stale_jobs", 600, _fail_stale_jobs)
