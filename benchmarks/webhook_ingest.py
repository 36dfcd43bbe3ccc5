"""Webhook ingest: signed Telegram updates into /hooks/messaging/<key>/, and the drain.

    uv run python benchmarks/webhook_ingest.py [--updates 2000] [--database-url postgres://…]

Two figures, each with a same-run baseline:

1. Requests/s: `--updates` signed Telegram updates (each a new update_id, spread over
   `--chats` chats) POSTed one after another through Django's test client to the real URL —
   whole middleware stack, account lookup, secret check, the raw event stored with
   `INSERT … ON CONFLICT DO NOTHING`, the drain requested (one drain job for the burst, the
   django-tasks row written by the database queue). Baseline: a bare Django view that reads
   the body and answers 200, through the same client, URLconf and middleware. The statements
   one request runs are counted too: at the start of a burst (the drain is requested and its
   job enqueued) and within one (the drain row read only).
2. Drain events/s: the stored updates processed by `inbound_drain` (claims in batches,
   savepoint per event, contact resolved or created, message appended to its conversation
   with its activity, statuses written per batch). Baseline: a raw loop over as many
   updates of other chats doing the same processing (`provider.parse` + `apply_message`)
   one transaction per event, with no claiming and no status bookkeeping.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import types

from benchdb import close_and_drop, ensure_database, setup

SECRET = "bench-webhook-secret"  # noqa: S105 - the benchmark's own throwaway account


def load() -> str:
    """The load average (1, 5, 15 minutes): every figure is printed with it."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=2_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="Keep the PostgreSQL database.")
    args = parser.parse_args()
    if args.database_url:
        ensure_database(args.database_url)
    data_dir = tempfile.mkdtemp(prefix="tend-bench-ingest-")
    setup(args.database_url, data_dir, TEND_ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
          TEND_TASKS_BACKEND="django_tasks_db.DatabaseBackend")
    try:
        run(args)
    finally:
        if args.database_url and not args.keep:
            close_and_drop(args.database_url)


def _bare(request):  # type: ignore[no-untyped-def]
    """The baseline view: reads the body and answers 200, nothing else."""
    from django.http import HttpResponse

    request.body  # noqa: B018 - read it, as the webhook view does
    return HttpResponse(b'{"ok": true}', content_type="application/json")


def _bare_urls() -> None:
    """An URLconf with Tend's routes plus the bare view, under the same middleware."""
    from django.urls import include, path

    module = types.ModuleType("ingest_bench_urls")
    module.urlpatterns = [path("bench/bare/", _bare), path("", include("tend.urls"))]  # type: ignore[attr-defined]
    sys.modules["ingest_bench_urls"] = module


def update(n: int, chat: int) -> dict:  # type: ignore[type-arg]
    """A Telegram `message` update as the Bot API sends it."""
    person = {"id": chat, "is_bot": False, "first_name": f"P{chat}", "language_code": "en"}
    return {"update_id": n, "message": {
        "message_id": n, "from": person,
        "chat": {"id": chat, "first_name": person["first_name"], "type": "private"},
        "date": int(time.time()), "text": f"hello {n}"}}


def run(args: argparse.Namespace) -> None:
    from django.db import connection, transaction
    from django.test import Client, override_settings
    from django_tasks_db.models import DBTaskResult

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.messaging.models import ChannelAccount, InboundDrain, InboundEvent, Message
    from tend.messaging.providers import InboundItem, provider_for
    from tend.messaging.services.accounts import webhook_path
    from tend.messaging.services.inbound import apply_message
    from tend.messaging.services.inbound_drain import inbound_drain

    n = args.updates
    print(f"database: {connection.vendor}; updates: {n:,} over {args.chats} chats; "
          f"load average: {load()}")
    with system_scope():
        tenant = tenant_create(name="Ingest bench", slug=f"ingest-{int(time.time())}",
                               actor=Actor.system())
    with tenant_scope(tenant):
        account = ChannelAccount(tenant=tenant, kind="TELEGRAM", name="Hook bot",
                                 status="ACTIVE", settings={"api_base": "http://127.0.0.1:9"})
        account.set_credentials({"bot_token": "1:bench", "webhook_secret": SECRET})
        account.save()
    _bare_urls()
    client = Client()
    path = webhook_path(account)
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": SECRET}
    # Chats 1..chats for the webhook and the drain; chats above for the raw loop.
    bodies = [json.dumps(update(i, 10_000 + i % args.chats)).encode() for i in range(1, n + 1)]

    def post_all(url: str, chunk: list[bytes]) -> float:
        t0 = time.perf_counter()
        for body in chunk:
            response = client.post(url, data=body, content_type="application/json", **headers)
            assert response.status_code == 200, (response.status_code, response.content)
        return time.perf_counter() - t0

    with override_settings(ROOT_URLCONF="ingest_bench_urls"):
        post_all("/bench/bare/", bodies[:50])  # warm both paths up
        warm = [json.dumps(update(10**9 + i, 99)).encode() for i in range(3)]
        start: list[str] = []
        within: list[str] = []
        for body, seen in ((warm[0], start), (warm[1], within)):
            # Django resets its query log when a request starts: count through a wrapper.
            with connection.execute_wrapper(lambda run, sql, *a, seen=seen: (  # type: ignore[misc]
                    seen.append(sql), run(sql, *a))[1]):
                post_all(path, [body])
        with tenant_scope(tenant):  # leave the warm-up out of the timed run
            InboundEvent.objects.filter(account=account).delete()
            InboundDrain.objects.filter(account=account).delete()
            DBTaskResult.objects.all().delete()
        ours = post_all(path, bodies)
        bare = post_all("/bench/bare/", bodies)
    with tenant_scope(tenant):
        stored = InboundEvent.objects.filter(account=account, status="PENDING").count()
    jobs = DBTaskResult.objects.filter(task_path="tend.messaging.tasks.drain_inbound").count()
    assert stored == n and jobs == 1, (stored, jobs)
    print(f"statements per request: {len(start)} starting a burst, {len(within)} within one")
    for sql in within:
        print("   ", " ".join(sql.split())[:110])
    print(f"webhook ingest: {n / ours:,.0f} requests/s ({ours * 1000 / n:.2f} ms each); "
          f"bare Django view {n / bare:,.0f}/s ({bare * 1000 / n:.2f} ms); "
          f"ratio {bare / ours:.2f}; drain jobs enqueued: {jobs}; "
          f"load {load()}")

    # 2. Drain vs raw loop, the same number of updates from the same number of new people.
    provider = provider_for("TELEGRAM")

    def raw_loop(updates: list[InboundItem]) -> float:
        t0 = time.perf_counter()
        for item in updates:
            with transaction.atomic():
                for parsed in provider.parse(account, item):
                    apply_message(tenant, account, parsed)
        return time.perf_counter() - t0

    with tenant_scope(tenant):
        # Warm the processing up (first-call imports and caches) before either side is timed.
        raw_loop([InboundItem(str(10**7 + i), "message", update(10**7 + i, 90_000 + i))
                  for i in range(20)])
        t0 = time.perf_counter()
        result = inbound_drain(tenant=tenant, account_id=account.pk)
        drain = time.perf_counter() - t0
        assert result.processed == n, result
        raw_items = [InboundItem(str(10**8 + i), "message",
                                 update(10**8 + i, 20_000 + i % args.chats))
                     for i in range(1, n + 1)]
        raw = raw_loop(raw_items)
        messages = Message.objects.filter(account=account).count()
    assert messages == 2 * n + 20, messages
    print(f"drain: {n / drain:,.0f} events/s ({n:,} in {drain:.2f}s, {result.passes} pass); "
          f"raw loop {n / raw:,.0f} events/s ({raw:.2f}s); ratio {raw / drain:.2f}; "
          f"load {load()}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
