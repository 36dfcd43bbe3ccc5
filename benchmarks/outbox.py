"""W3: the outbox against the local fake Telegram Bot API.

    uv run python benchmarks/outbox.py [--messages 100000] [--database-url postgres://…]

Three figures, each with a same-run baseline:

1. Unlimited: `--messages` queued messages (to `--contacts` people, addresses resolved from
   their Telegram identities at send time) sent by `--processes` worker processes, each one
   `OutboxWorker` — claims, send-time checks, concurrent sends through Tend's Telegram
   provider (`--concurrency` threads, one keep-alive httpx client), batched result writes
   with the MESSAGE_SENT activities. Baseline in the same run: as many processes of a minimal
   asyncio sender (one httpx.AsyncClient, `--concurrency` tasks) pushing the same number of
   sendMessage requests. Both talk to one fake Bot API in its own process, and both are timed
   from a "go" given once every process has started (Django set up, clients built).
   Target: ≥ 2,000 msg/s and ≥ 0.5 times the baseline.
2. Limited: an account at `--rate` messages per second for `--seconds`: the achieved rate
   (≥ 99 % of the configured one) and the fake's busiest one-second window (never above).
3. Worker start-up (`--parts startup`): `tend worker` from process start to its first send.

Webhook ingest has a benchmark of its own: benchmarks/webhook_ingest.py.

The limited run's fake runs in a process of its own too (its receive times are read back at
the end), so that this process's threads do not delay its stamps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

from benchdb import close_and_drop, ensure_database, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=80.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--processes", type=int, default=2,
                        help="sender processes on each side of the unlimited run")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--parts", default="unlimited,limited",
                        help="which runs, comma-separated: unlimited, limited, startup "
                             "(default: the first two)")
    parser.add_argument("--keep", action="store_true", help="Keep the PostgreSQL database.")
    parser.add_argument("--no-baseline", action="store_true",
                        help="unlimited run without the asyncio sender (for profiling ours)")
    parser.add_argument("--role", choices=["worker", "asyncio"], help=argparse.SUPPRESS)
    parser.add_argument("--fake-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        child(args)
        return
    if args.database_url:
        ensure_database(args.database_url)
    data_dir = tempfile.mkdtemp(prefix="tend-bench-outbox-")
    setup(args.database_url, data_dir, TEND_OUTBOX_BATCH="500",
          TEND_ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
          TEND_TASKS_BACKEND="django_tasks_db.DatabaseBackend")
    try:
        run(args)
    finally:
        if args.database_url and not args.keep:
            close_and_drop(args.database_url)


def run(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.utils import timezone

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.messaging.fakes import FakeTelegram
    from tend.messaging.models import ChannelAccount, Message
    from tend.people.models import Contact, IdentityAlias

    print(f"database: {connection.vendor}; messages: {args.messages:,}; "
          f"concurrency: {args.concurrency}")
    with system_scope():
        tenant = tenant_create(name="Outbox bench", slug=f"outbox-{int(time.time())}",
                               actor=Actor.system())
    fake = FakeTelegram(record_requests=False).start()
    try:
        with tenant_scope(tenant):
            account = ChannelAccount(tenant=tenant, kind="TELEGRAM", name="Bench bot",
                                     status="ACTIVE", settings={"api_base": fake.url},
                                     rate_per_second=0, rate_per_chat_per_second=0,
                                     is_default=True)
            account.set_credentials({"bot_token": fake.token})
            account.save()
            contacts = Contact.objects.bulk_create(
                [Contact(tenant=tenant, first_name=f"P{i}") for i in range(args.contacts)],
                batch_size=1000)
            IdentityAlias.objects.bulk_create(
                [IdentityAlias(tenant=tenant, contact=c, type="TELEGRAM", value=str(10_000 + i),
                               is_primary=True) for i, c in enumerate(contacts)],
                batch_size=1000)

        def queue(acct: ChannelAccount, n: int, prefix: str) -> None:
            now = timezone.now()
            with tenant_scope(tenant):
                for start in range(0, n, 10_000):
                    Message.objects.bulk_create(
                        [Message(tenant=tenant, contact=contacts[i % len(contacts)],
                                 account=acct, channel="TELEGRAM", direction="OUTBOUND",
                                 status="QUEUED", body=f"Message {i}", queued_at=now,
                                 next_attempt_at=now, dedupe_key=f"{prefix}:{i}")
                         for i in range(start, min(n, start + 10_000))], batch_size=2000)

        parts = set(args.parts.split(","))
        # 1. Unlimited.
        if "unlimited" in parts:
            unlimited_run(args, tenant, account, queue)
        # 2. Limited.
        if "limited" in parts:
            limited_run(args, tenant, queue)
        # 3. Worker start-up (not in the default parts).
        if "startup" in parts:
            startup_run(args, tenant, queue)
    finally:
        fake.stop()


def unlimited_run(args: argparse.Namespace, tenant, account, queue) -> None:  # type: ignore[no-untyped-def]
    """Several processes each side, one fake in its own process."""
    from tend.core.tenancy import tenant_scope
    from tend.messaging.models import Message

    server, info = fake_process()
    try:
        with tenant_scope(tenant):
            account.settings = {"api_base": info["url"]}
            account.set_credentials({"bot_token": info["token"]})
            account.save()
        queue(account, args.messages, "w3")
        ours = timed_children(args, "worker", info)
        with tenant_scope(tenant):
            ok = Message.objects.filter(account=account, status="SENT").count()
        assert ok == args.messages, ok
        base = 0.0 if args.no_baseline else timed_children(args, "asyncio", info)
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(10)
    if not base:
        print(f"unlimited ({args.processes} processes): outbox {args.messages / ours:,.0f} "
              f"msg/s ({args.messages:,} in {ours:.1f}s); no baseline run")
        return
    print(f"unlimited ({args.processes} processes each): outbox "
          f"{args.messages / ours:,.0f} msg/s ({args.messages:,} in {ours:.1f}s); "
          f"asyncio sender {args.messages / base:,.0f} msg/s ({base:.1f}s); "
          f"ratio {base / ours:.2f}")


def limited_run(args: argparse.Namespace, tenant, queue) -> None:  # type: ignore[no-untyped-def]
    """One account at `--rate`/s; the fake in a process of its own (its arrival times are not
    held up by this process's threads), its stamps read back at the end."""
    from tend.core.tenancy import tenant_scope
    from tend.messaging.models import ChannelAccount
    from tend.messaging.outbox.worker import OutboxWorker
    from tend.messaging.providers import provider_for

    server, info = fake_process()
    try:
        with tenant_scope(tenant):
            limited = ChannelAccount(tenant=tenant, kind="TELEGRAM", name="Paced bot",
                                     status="ACTIVE", settings={"api_base": info["url"]},
                                     rate_per_second=args.rate, rate_per_chat_per_second=0)
            limited.set_credentials({"bot_token": info["token"]})
            limited.save()
        n = int(args.rate * args.seconds)
        queue(limited, n, "paced")
        # When each send started (what the limiter paces), besides when the fake got it.
        provider = provider_for("TELEGRAM")
        starts: list[float] = []
        send = provider.send

        def stamped(acct, message):  # type: ignore[no-untyped-def]
            starts.append(time.time())
            return send(acct, message)

        provider.send = stamped  # type: ignore[method-assign]
        worker = OutboxWorker(worker_id="bench-paced", concurrency=args.concurrency)
        try:
            worker.run_until_idle(timeout=args.seconds * 10 + 60, within=2)
        finally:
            provider.send = send  # type: ignore[method-assign]
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(f"timestamps bot:{info['token']}\n")
        server.stdin.flush()
        stamps = sorted(json.loads(server.stdout.readline()))
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(10)
    achieved = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    starts.sort()
    paced = (len(starts) - 1) / (starts[-1] - starts[0]) if len(starts) > 1 else 0.0
    print(f"limited: {len(stamps)} sent; achieved {achieved:.2f}/s of {args.rate:g}/s "
          f"({achieved / args.rate:.2%}) at the fake, {paced:.2f}/s ({paced / args.rate:.2%}) "
          f"by send starts; busiest one-second window: send starts {busiest(starts)}, "
          f"arrivals at the fake {busiest(stamps)} (limit {args.rate:g}); late sends "
          f"re-slotted {worker.stats.late}, sent late within the tolerance "
          f"{worker.stats.carried}")
    if len(stamps) == len(starts) and starts:
        # Transit: each arrival against the start of the same rank (clocks differ: the
        # fake stamps monotonic time), less the quickest one.
        transit = sorted(a - s for a, s in zip(stamps, starts, strict=True))
        ms = [1000 * (transit[i] - transit[0]) for i in (len(transit) // 2,
                                                         len(transit) * 99 // 100, -1)]
        print(f"  transit beyond the quickest: median {ms[0]:.1f} ms, p99 {ms[1]:.1f} ms, "
              f"max {ms[2]:.1f} ms")


def startup_run(args: argparse.Namespace, tenant, queue) -> None:  # type: ignore[no-untyped-def]
    """`tend worker` from process start to its first send (one message queued, the fake in
    its own process seeing the request), against a bare `python -c pass` and a process that
    only sets Django up, each the best of three."""
    from tend.core.tenancy import tenant_scope
    from tend.messaging.models import ChannelAccount

    env = {**os.environ, "TEND_LOG_LEVEL": "WARNING"}
    if args.database_url:
        env["TEND_DATABASE_URL"] = args.database_url
    worker_times: list[float] = []
    for attempt in range(3):
        server, info = fake_process()
        try:
            with tenant_scope(tenant):
                account = ChannelAccount(tenant=tenant, kind="TELEGRAM", name=f"Start {attempt}",
                                         status="ACTIVE", settings={"api_base": info["url"]},
                                         rate_per_second=0, rate_per_chat_per_second=0)
                account.set_credentials({"bot_token": info["token"]})
                account.save()
            queue(account, 1, f"startup-{attempt}")
            assert server.stdin is not None and server.stdout is not None
            started = time.perf_counter()
            proc = subprocess.Popen([sys.executable, "-m", "tend.cli", "worker"], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while time.perf_counter() - started < 120:
                    server.stdin.write(f"timestamps bot:{info['token']}\n")
                    server.stdin.flush()
                    if json.loads(server.stdout.readline()):
                        worker_times.append(time.perf_counter() - started)
                        break
                    time.sleep(0.01)
            finally:
                proc.terminate()
                proc.wait(30)
        finally:
            server.stdin.close()  # type: ignore[union-attr]
            server.wait(10)

    def timed(code: str) -> float:
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env=env, check=True)  # noqa: S603
            best = min(best, time.perf_counter() - t0)
        return best

    bare = timed("pass")
    django = timed("import django; django.setup()")
    best = min(worker_times)
    print(f"worker start-up: first send {best:.2f} s after the process started (best of "
          f"{len(worker_times)}: {', '.join(f'{t:.2f}' for t in worker_times)}); "
          f"python -c pass {bare:.2f} s; django.setup() alone {django:.2f} s "
          f"(ratio worker / django.setup() {best / django:.1f})")


def busiest(stamps: list[float]) -> int:
    """The most stamps in any one-second window."""
    stamps = sorted(stamps)
    most, first = 0, 0
    for last, at in enumerate(stamps):
        while at - stamps[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def fake_process() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The fake Bot API in a child process, recording counts only."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tend.messaging.fakes", "telegram", "--no-record"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    return server, json.loads(server.stdout.readline())


def timed_children(args: argparse.Namespace, role: str, info: dict[str, str]) -> float:
    """Start `args.processes` children in `role`, wait until each is ready, say "go" to all,
    and return the seconds until the last one is done."""
    command = [sys.executable, __file__, "--role", role, "--fake-url", info["url"],
               "--token", info["token"], "--concurrency", str(args.concurrency),
               "--messages", str(args.messages // args.processes),
               "--contacts", str(args.contacts)]
    if args.database_url:
        command += ["--database-url", args.database_url]
    # Same data directory: on SQLite, the same database file.
    env = {**os.environ, "TEND_DATA_DIR": os.environ["TEND_DATA_DIR"]}
    children = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                                 text=True, env=env) for _ in range(args.processes)]
    for proc in children:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in children:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in children:
        out, _err = proc.communicate(timeout=24 * 3600)
        assert proc.returncode == 0, out
    return time.perf_counter() - started


def child(args: argparse.Namespace) -> None:
    """One sender process of the unlimited run: an outbox worker, or the asyncio baseline."""
    if args.role == "worker":
        setup(args.database_url, os.environ["TEND_DATA_DIR"], TEND_LOG_LEVEL="WARNING")
        from tend.messaging.outbox.worker import OutboxWorker

        worker = OutboxWorker(concurrency=args.concurrency, batch_size=500,
                              max_in_flight=max(500, args.concurrency * 16))
        print("ready", flush=True)
        sys.stdin.readline()
        worker.run_until_idle(timeout=24 * 3600)
        worker.shutdown(close_connections=True)
        print(worker.stats.summary(), flush=True)
        return
    import httpx

    async def pump_all() -> None:
        limits = httpx.Limits(max_connections=args.concurrency,
                              max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(base_url=args.fake_url, limits=limits) as client:
            queue_: asyncio.Queue[dict] = asyncio.Queue()
            for i in range(args.messages):
                queue_.put_nowait({"chat_id": 10_000 + i % args.contacts,
                                   "text": f"Message {i}"})
            await client.post(f"/bot{args.token}/getMe")  # connect before the clock
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)

            async def pump() -> None:
                while not queue_.empty():
                    response = await client.post(f"/bot{args.token}/sendMessage",
                                                 json=queue_.get_nowait())
                    response.raise_for_status()

            await asyncio.gather(*(pump() for _ in range(args.concurrency)))

    asyncio.run(pump_all())


if __name__ == "__main__":
    main()
