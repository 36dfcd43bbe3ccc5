"""The background worker: runs queued tasks and the periodic tick in one loop.

`tend worker` runs one in the foreground; `tend serve` runs one in a thread beside the web
server. Any number may run against the same database: tasks are claimed by django-tasks-db
(`SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, an exclusive transaction on SQLite) and the
tick claims periodic jobs the same way (see `tend.core.periodic`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections
from django.db.utils import OperationalError
from django.utils.crypto import get_random_string
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from tend.core.periodic import tick

logger = logging.getLogger(__name__)

# Long-running loops modules run beside the task worker (e.g. the messaging outbox), each in
# its own thread, started by `TendWorker.run` and stopped with it: `func(stop_event)`.
_loops: dict[str, Callable[[threading.Event], None]] = {}
# What each loop does for `tend worker --once`: `once()` works through what is due, then
# returns (how many items it handled).
_once: dict[str, Callable[[], int]] = {}


def register_worker_loop(name: str, func: Callable[[threading.Event], None], *,
                         once: Callable[[], int] | None = None) -> None:
    """Run `func(stop)` in a thread of every worker (`tend worker`, `tend serve`) until `stop`
    is set; `once()`, when given, is what `tend worker --once` runs instead (after the ready
    tasks and the tick). Registering a name again replaces it."""
    _loops[name] = func
    if once is not None:
        _once[name] = once
    else:
        _once.pop(name, None)


def run_loops_once() -> dict[str, int]:
    """Run every registered loop's `once` in turn; returns what each handled."""
    return {name: once() for name, once in _once.items()}


def _start_loops(stop: threading.Event) -> list[threading.Thread]:
    threads = []
    for name, func in _loops.items():
        thread = threading.Thread(target=func, args=(stop,), name=f"tend-loop-{name}",
                                  daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def new_worker_id() -> str:
    """Unique across the pool and readable in the task table: host, pid, random suffix."""
    return f"{socket.gethostname()[:30]}-{os.getpid()}-{get_random_string(8)}"[:64]


class TendWorker(Worker):
    """A django-tasks-db worker that also ticks, and stops when `stop` is set.

    The claim-and-run of tasks is django-tasks-db's own (`Worker.run_task`); the loop is ours
    so that it can live in a thread (no signal handling, no `sys.exit`) and tick between tasks.
    """

    def __init__(self, *, worker_id: str | None = None, interval: float = 1.0,
                 tick_seconds: float | None = None, queue_names: list[str] | None = None,
                 backend_name: str = DEFAULT_TASK_BACKEND_ALIAS,
                 stop: threading.Event | None = None) -> None:
        super().__init__(
            queue_names=queue_names or ["*"], interval=interval, batch=False,
            backend_name=backend_name, startup_delay=False, max_tasks=None,
            worker_id=worker_id or new_worker_id(), excluded_queue_names=[],
        )
        self.tick_seconds = settings.TEND_TICK_SECONDS if tick_seconds is None else tick_seconds
        self.stop = stop or threading.Event()
        self._next_tick = 0.0
        self.tasks_run = 0
        self.loops_handled: dict[str, int] = {}

    @property
    def has_queue(self) -> bool:
        """False when tasks run elsewhere (e.g. the immediate backend): then only tick."""
        return isinstance(task_backends[self.backend_name], DatabaseBackend)

    def claim_task(self) -> DBTaskResult | None:
        """Claim the next ready task, or None (none ready, or the database is busy)."""
        tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
        if not self.process_all_queues:
            tasks = tasks.filter(queue_name__in=self.queue_names)
        try:
            with exclusive_transaction(tasks.db):
                task_result = tasks.get_locked()
                if task_result is not None:
                    task_result.claim(self.worker_id)
                return task_result
        except OperationalError as exc:
            if is_locked_database_exception(exc):
                return None
            raise

    def run_one_task(self) -> bool:
        """Claim and run one task; True if there was one."""
        if not self.has_queue:
            return False
        task_result = self.claim_task()
        if task_result is None:
            return False
        self.run_task(task_result)
        self.tasks_run += 1
        return True

    def tick_if_due(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now < self._next_tick:
            return
        self._next_tick = now + self.tick_seconds
        for run in tick(self.worker_id):
            if run.ok:
                logger.debug("periodic %s ran (due %s)", run.name, run.due_at.isoformat())

    def run_until_idle(self) -> int:
        """Run every ready task, tick once, then let each worker loop work through what is due
        once (the outbox sends what is queued). Returns how many tasks ran (for --once)."""
        before = self.tasks_run
        while not self.stop.is_set() and self.run_one_task():
            pass
        self.tick_if_due(force=True)
        self.loops_handled = run_loops_once()
        return self.tasks_run - before

    def run(self) -> None:
        """Work until `stop` is set. Database outages are logged and waited out."""
        logger.info("worker %s started", self.worker_id)
        loops = _start_loops(self.stop)
        try:
            while not self.stop.is_set():
                close_old_connections()
                try:
                    self.tick_if_due()
                    if self.run_one_task():
                        continue
                except DatabaseError:
                    logger.exception("worker %s: database error; retrying", self.worker_id)
                    connections.close_all()
                    self.stop.wait(max(self.interval, 1.0))
                    continue
                self.stop.wait(self.interval)
        finally:
            self.stop.set()
            for thread in loops:
                thread.join(30)
            connections.close_all()
            logger.info("worker %s stopped after %d tasks", self.worker_id, self.tasks_run)


def start_worker_thread(*, stop: threading.Event, interval: float = 1.0) -> threading.Thread:
    """Run a `TendWorker` in a daemon thread until `stop` is set (used by `tend serve`)."""
    worker = TendWorker(interval=interval, stop=stop)
    thread = threading.Thread(target=worker.run, name=f"tend-worker-{worker.worker_id}",
                              daemon=True)
    thread.start()
    return thread
