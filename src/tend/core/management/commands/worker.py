"""`tend worker`: run queued background tasks and the periodic tick until stopped."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.core.worker import TendWorker, new_worker_id


def _positive_float(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Run the background task worker and the periodic tick (production)."
    # Django's system checks (URLs, templates, admin…) took 1.4 s of a worker's 4.5 s start
    # (as for `tend serve`); `tend migrate` and `tend manage check` run them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true",
                            help="Run every ready task, tick once, and exit.")
        parser.add_argument("--interval", type=_positive_float, default=1.0,
                            help="Seconds to wait when no task is ready (default 1).")
        parser.add_argument("--tick-seconds", type=_positive_float, default=None,
                            help="Seconds between ticks (default TEND_TICK_SECONDS, 5).")
        parser.add_argument("--queue", default="*",
                            help="Comma-separated queue names to work (default: all).")
        parser.add_argument("--worker-id", default="",
                            help="Name of this worker; unique across the pool (default: "
                                 "host-pid-random).")

    def handle(self, *args: Any, **options: Any) -> None:
        worker_id = options["worker_id"] or new_worker_id()
        if len(worker_id) > 64:
            raise CommandError("--worker-id must be at most 64 characters.")
        stop = threading.Event()
        worker = TendWorker(
            worker_id=worker_id, interval=options["interval"],
            tick_seconds=options["tick_seconds"],
            queue_names=[q.strip() for q in options["queue"].split(",") if q.strip()],
            stop=stop,
        )
        if not worker.has_queue:
            self.stderr.write("Tasks run in-process with this TASKS backend; only ticking.")
        if options["once"]:
            ran = worker.run_until_idle()
            self.stdout.write(f"Ran {ran} task(s) and one tick.")
            return

        def request_stop(signum: int, frame: FrameType | None) -> None:
            if stop.is_set():
                # Second signal: stop the running task too (it is recorded as failed).
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                raise KeyboardInterrupt
            self.stderr.write(f"{signal.strsignal(signum)}: finishing the current task, "
                              "then stopping (again to stop at once).")
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.stdout.write(f"Worker {worker_id} running; Ctrl-C to stop.")
        self.stdout.flush()
        try:
            worker.run()
        except KeyboardInterrupt:
            raise CommandError("Stopped in the middle of a task.", returncode=130) from None
        self.stdout.write(f"Worker {worker_id} stopped after {worker.tasks_run} task(s).")
