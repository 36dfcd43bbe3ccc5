"""`tend serve`: the product. Migrates, creates the demo organization on a first run with
SQLite, serves UI + API with waitress and runs the background worker in-process."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections

WORKER_STOP_SECONDS = 10.0


def _port(value: str) -> int:
    port = int(value)
    if not 0 <= port <= 65535:
        raise ValueError(value)
    return port


class Command(BaseCommand):
    help = ("Migrate, create the demo organization on first run, serve UI + API and run a "
            "worker.")
    # Checks run once, here, rather than before every management command the server calls.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1",
                            help="Address to listen on (default 127.0.0.1; 0.0.0.0 for all).")
        parser.add_argument("--port", type=_port, default=8000, help="Port (default 8000).")
        parser.add_argument("--threads", type=int, default=8,
                            help="Web request threads (default 8).")
        parser.add_argument("--no-worker", action="store_true",
                            help="Do not run the background worker here (run `tend worker` "
                                 "processes instead).")
        parser.add_argument("--no-demo", action="store_true",
                            help="Do not create the demo organization on a first run.")

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        self.check(display_num_errors=False)
        is_sqlite = connection.vendor == "sqlite"
        where = settings.DATABASES["default"]["NAME"] if is_sqlite else "PostgreSQL"
        self.say(f"Tend: data in {settings.DATA_DIR} (database: {where})")
        call_command("migrate", interactive=False, verbosity=0)
        # whitenoise serves from the app directories; an absent STATIC_ROOT only makes noise.
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)

        login = self._demo_login(first_run_allowed=is_sqlite and not options["no_demo"])

        from waitress.server import create_server

        from tend.wsgi import application

        try:
            server = create_server(application, host=options["host"], port=options["port"],
                                   threads=max(1, options["threads"]), ident="Tend")
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: "
                               f"{exc.strerror or exc}") from None
        host, port = server.effective_host, server.effective_port  # type: ignore[union-attr]
        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104
        url = f"http://{shown_host}:{port}/"

        force = threading.Event()
        stopping = False

        def on_signal(signum: int, frame: FrameType | None) -> None:
            # The first Ctrl-C / SIGTERM stops the server; later ones (a second Ctrl-C, or the
            # same signal relayed twice by a process manager) only cut the waiting short.
            nonlocal stopping
            if not stopping:
                stopping = True
                raise KeyboardInterrupt
            force.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        stop = threading.Event()
        worker_thread = None
        try:
            if not options["no_worker"]:
                from tend.core.worker import start_worker_thread

                worker_thread = start_worker_thread(stop=stop)
            self.say(f"Serving on {url} (worker: {'off' if worker_thread is None else 'on'}; "
                     f"started in {time.perf_counter() - started:.1f}s)")
            if login is not None:
                self.say(f"Sign in at {url}login/ as {login[0]} with password: {login[1]}")
            if shown_host not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
                self.say(f"Note: add the host name to TEND_ALLOWED_HOSTS (now "
                         f"{','.join(settings.ALLOWED_HOSTS)}).")
            self.say("Press Ctrl-C to stop.")
            server.run()  # returns after the first signal, once waitress has shut down
        except KeyboardInterrupt:
            server.close()  # the signal came before waitress's loop began
        finally:
            connections.close_all()
        self._stop_worker(stop, worker_thread, force)
        self.say("Stopped.")

    def _demo_login(self, *, first_run_allowed: bool) -> tuple[str, str] | None:
        from tend.core.demo import (
            demo_load,
            demo_login_read,
            demo_login_save,
            demo_organization_create,
            demo_password,
        )
        from tend.core.models import Tenant
        from tend.core.tenancy import system_scope

        with system_scope():
            if first_run_allowed and not Tenant.objects.exists():
                password = demo_password()
                tenant, owner = demo_organization_create(password=password)
                demo_load(tenant=tenant, owner=owner, password=password)
                demo_login_save(email=owner.email, password=password)
                self.say(f"First run: created the demo organization {tenant.name!r}.")
            return demo_login_read()

    def _stop_worker(self, stop: threading.Event, thread: threading.Thread | None,
                     force: threading.Event) -> None:
        stop.set()
        if thread is None:
            return
        begun = time.monotonic()
        warned = False
        while (thread.is_alive() and not force.is_set()
               and time.monotonic() - begun < WORKER_STOP_SECONDS):
            thread.join(timeout=0.1)
            if thread.is_alive() and not warned and time.monotonic() - begun > 1.0:
                warned = True
                self.say(f"Waiting up to {WORKER_STOP_SECONDS:.0f}s for the running task to "
                         "finish (Ctrl-C again to stop now)…")
        if thread.is_alive():
            self.say("The running task was interrupted; housekeeping marks its job failed "
                     "within the hour.")
