"""W3: the outbox against the local fake Telegram Bot API.

    uv run python benchmarks/outbox.py [--messages 100000] [--database-url postgres://…]

Three figures, each with a same-run baseline:

1. Unlimited: `--messages` queued messages (to `--contacts` people, addresses resolved from
   their Telegram identities at send time) sent by one `OutboxWorker` — claims, send-time
   checks, concurrent sends through Tend's Telegram provider, batched result writes with the
   MESSAGE_SENT activities. Baseline: a minimal asyncio sender (httpx.AsyncClient, the same
   concurrency) pushing the same number of sendMessage requests to the same fake.
   Target: ≥ 2,000 msg/s and ≥ 0.5 times the baseline.
2. Limited: an account at `--rate` messages per second for `--seconds`: the achieved rate
   (≥ 99 % of the configured one) and the fake's busiest one-second window (never above).
3. Webhook ingest: signed Telegram updates POSTed to /hooks/messaging/<key>/ through the
   whole Django stack (test client: middleware, signature check, raw-first storage, enqueue of
   the processing task). Baseline: `inbound_store` called directly with the same updates
   (the storage alone, no HTTP, no Django request handling).

The fake runs in this process (in its own thread), as does everything else: both sides of
each comparison share it and the interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time

from benchdb import drop_database, ensure_database, setup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=80.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--webhooks", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="Keep the PostgreSQL database.")
    args = parser.parse_args()
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
            from django.db import connections

            connections.close_all()
            drop_database(args.database_url)


def run(args: argparse.Namespace) -> None:
    import httpx
    from django.db import connection
    from django.utils import timezone

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.messaging.fakes import FakeTelegram
    from tend.messaging.models import ChannelAccount, Message
    from tend.messaging.outbox.worker import OutboxWorker
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

        # 1. Unlimited.
        queue(account, args.messages, "w3")
        before = fake.count("sendMessage")
        worker = OutboxWorker(worker_id="bench", concurrency=args.concurrency,
                              batch_size=500, max_in_flight=2000)
        started = time.perf_counter()
        worker.run_until_idle(timeout=24 * 3600)
        ours = time.perf_counter() - started
        sent = fake.count("sendMessage") - before
        with tenant_scope(tenant):
            ok = Message.objects.filter(account=account, status="SENT").count()
        assert ok == args.messages, (ok, worker.stats)

        async def baseline(n: int) -> float:
            payloads = [{"chat_id": 10_000 + i % len(contacts), "text": f"Message {i}"}
                        for i in range(n)]
            limits = httpx.Limits(max_connections=args.concurrency,
                                  max_keepalive_connections=args.concurrency)
            async with httpx.AsyncClient(base_url=fake.url, limits=limits) as client:
                queue_: asyncio.Queue[dict] = asyncio.Queue()
                for p in payloads:
                    queue_.put_nowait(p)

                async def pump() -> None:
                    while not queue_.empty():
                        payload = queue_.get_nowait()
                        response = await client.post(f"/bot{fake.token}/sendMessage",
                                                     json=payload)
                        response.raise_for_status()

                t0 = time.perf_counter()
                await asyncio.gather(*(pump() for _ in range(args.concurrency)))
                return time.perf_counter() - t0

        base = asyncio.run(baseline(args.messages))
        print(f"unlimited: outbox {sent / ours:,.0f} msg/s ({sent:,} in {ours:.1f}s); "
              f"asyncio sender {args.messages / base:,.0f} msg/s; "
              f"ratio {(sent / ours) / (args.messages / base):.2f}")

        # 2. Limited.
        with tenant_scope(tenant):
            limited = ChannelAccount(tenant=tenant, kind="TELEGRAM", name="Paced bot",
                                     status="ACTIVE", settings={"api_base": fake.url},
                                     rate_per_second=args.rate, rate_per_chat_per_second=0)
            limited.set_credentials({"bot_token": fake.add_bot(username="paced_bot")})
            limited.save()
        n = int(args.rate * args.seconds)
        queue(limited, n, "paced")
        key = f"bot:{limited.credentials['bot_token']}"
        OutboxWorker(worker_id="bench-paced", concurrency=args.concurrency).run_until_idle(
            timeout=args.seconds * 10 + 60, within=2)
        stamps = sorted(fake.timestamps(key))
        achieved = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
        print(f"limited: {len(stamps)} sent; achieved {achieved:.2f}/s of {args.rate:g}/s "
              f"({achieved / args.rate:.1%}); busiest one-second window "
              f"{fake.max_rate(key)} (limit {args.rate:g})")

        # 3. Webhook ingest.
        webhooks(args, tenant, fake)
    finally:
        fake.stop()


def webhooks(args: argparse.Namespace, tenant, fake) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    from tend.core.tenancy import tenant_scope
    from tend.messaging.models import ChannelAccount, InboundEvent
    from tend.messaging.providers import provider_for
    from tend.messaging.services.accounts import webhook_path
    from tend.messaging.services.inbound import inbound_store

    with tenant_scope(tenant):
        account = ChannelAccount(tenant=tenant, kind="TELEGRAM", name="Hook bot",
                                 status="ACTIVE", settings={"api_base": fake.url})
        account.set_credentials({"bot_token": fake.token, "webhook_secret": "bench-secret"})
        account.save()
    client = Client()
    path = webhook_path(account)
    updates = [fake.make_update(f"hello {i}", chat_id=50_000 + i % 500)
               for i in range(args.webhooks * 2)]
    import json

    bodies = [json.dumps(u).encode() for u in updates]
    t0 = time.perf_counter()
    for body in bodies[:args.webhooks]:
        response = client.post(path, data=body, content_type="application/json",
                               HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN="bench-secret")  # noqa: S106
        assert response.status_code == 200, response.status_code
    ours = time.perf_counter() - t0
    provider = provider_for("TELEGRAM")
    t0 = time.perf_counter()
    with tenant_scope(tenant):
        for body in bodies[args.webhooks:]:
            inbound_store(account=account, items=provider.split(account, body))
    base = time.perf_counter() - t0
    with tenant_scope(tenant):
        stored = InboundEvent.objects.filter(account=account).count()
    assert stored == args.webhooks * 2, stored
    print(f"webhook ingest: {args.webhooks / ours:,.0f} requests/s through Django; "
          f"inbound_store alone {args.webhooks / base:,.0f}/s; ratio {base / ours:.2f}")


if __name__ == "__main__":
    main()
