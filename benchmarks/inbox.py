"""Inbox reads at scale: one organization with `--conversations` conversations (default
100,000; 30% resolved, a tenth assigned to the owner), each with its contact and last message.

Measures through the whole request path (Django's test client: middleware, session sign-in,
tenant scope and row-level security, selectors, templates) `--repeat` times each after one
warm-up:

- the inbox page (`/o/<org>/messaging/inbox/`, open conversations, 50 rows + the view counts);
- the list poll (`…/inbox/list/`, what the page fetches every 5 s);
- the thread poll with an unchanged version (`…/inbox/<id>/messages/?v=…`, every 3 s: a 204);
- `GET /api/v1/conversations?limit=50`.

The same-run baseline is hand-written SQL for what the list needs: the first 50 open
conversations by last message joined with their contact and account, and the one aggregate
of the counts (two statements, rows fetched, no rendering). Printed: p50/p95 in ms, the query
count of each request, and the ratio of the inbox page to the baseline.

    uv run python benchmarks/inbox.py --database-url postgres://tend@127.0.0.1:5432/bench_inbox
    uv run python benchmarks/inbox.py --conversations 20000         # SQLite, temporary
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

import benchdb
from benchdb import close_and_drop, ensure_database

ORG_SLUG = "bench-inbox"
OWNER_EMAIL = "owner@bench-inbox.example"
BATCH = 5_000


def seed(n: int) -> tuple[Any, Any, Any]:
    from django.utils import timezone

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create, user_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.messaging.models import ChannelAccount, Conversation, Message
    from tend.people.models import Contact

    with system_scope():
        owner = user_create(email=OWNER_EMAIL, password=None, full_name="Bench Owner")
        tenant = tenant_create(name="Inbox bench", slug=ORG_SLUG, actor=Actor.system(),
                               owner=owner)
    now = timezone.now()
    with tenant_scope(tenant):
        account = ChannelAccount.objects.create(tenant=tenant, kind="WEB", name="Website chat",
                                                status="ACTIVE")
        for start in range(0, n, BATCH):
            size = min(BATCH, n - start)
            contacts = Contact.objects.bulk_create([
                Contact(tenant=tenant, first_name=f"Person{start + i}",
                        display_name=f"Person {start + i}") for i in range(size)])
            conversations = Conversation.objects.bulk_create([
                Conversation(tenant=tenant, account=account, contact=c,
                             status="RESOLVED" if (start + i) % 10 < 3 else "OPEN",
                             assignee=owner if (start + i) % 10 == 5 else None,
                             last_message_at=now - timedelta(seconds=start + i),
                             last_inbound_at=now - timedelta(seconds=start + i),
                             last_message_preview=f"Hello from person {start + i}",
                             unread_count=(start + i) % 3)
                for i, c in enumerate(contacts)])
            Message.objects.bulk_create([
                Message(tenant=tenant, conversation=conv, contact=conv.contact, account=account,
                        channel="WEB", direction="INBOUND", status="RECEIVED",
                        body=conv.last_message_preview, queued_at=conv.last_message_at,
                        received_at=conv.last_message_at)
                for conv in conversations])
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with tenant_scope(tenant):
        first = Conversation.objects.filter(tenant=tenant).order_by("-last_message_at").first()
    return tenant, owner, first


def _time(fn: Any, repeat: int) -> tuple[float, float, Any]:
    fn()
    samples = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], result


def run(n: int, repeat: int) -> None:
    from django.db import connection
    from django.test import Client

    from tend.core.tenancy import tenant_scope

    t0 = time.perf_counter()
    tenant, owner, first = seed(n)
    print(f"seeded {n:,} conversations in {time.perf_counter() - t0:.1f} s "
          f"({connection.vendor})")
    client = Client()
    client.force_login(owner)
    session = client.session
    session["tend_current_org"] = ORG_SLUG
    session.save()
    base = f"/o/{ORG_SLUG}/messaging/inbox/"
    version = client.get(f"{base}{first.pk}/messages/").content.decode().split(
        'data-version="')[1].split('"')[0]
    requests = [
        ("inbox page", lambda: client.get(base)),
        ("list poll", lambda: client.get(f"{base}list/")),
        ("thread poll, unchanged", lambda: client.get(f"{base}{first.pk}/messages/",
                                                      {"v": version})),
        ("API conversations, 50", lambda: client.get("/api/v1/conversations?limit=50")),
    ]
    figures = {}
    for name, fn in requests:
        queries: list[str] = []

        def count(execute: Any, sql: str, *args: Any, _log: list[str] = queries) -> Any:
            _log.append(sql)
            return execute(sql, *args)

        with connection.execute_wrapper(count):
            response = fn()
        assert response.status_code in (200, 204), (name, response.status_code)
        p50, p95, _ = _time(fn, repeat)
        figures[name] = p50
        print(f"{name:28s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  queries {len(queries)}")

    tid = tenant.pk.hex if connection.vendor == "sqlite" else str(tenant.pk)
    uid = owner.pk.hex if connection.vendor == "sqlite" else str(owner.pk)

    def baseline() -> None:
        with tenant_scope(tenant), connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.id, c.status, c.last_message_at, c.last_message_preview, "
                "c.unread_count, ct.display_name, a.kind, a.name FROM messaging_conversation c "
                "JOIN people_contact ct ON ct.id = c.contact_id "
                "JOIN messaging_channelaccount a ON a.id = c.account_id "
                "WHERE c.tenant_id = %s AND c.status = 'OPEN' "
                "AND c.last_message_at IS NOT NULL "
                "ORDER BY c.last_message_at DESC, c.id DESC LIMIT 50", [tid])
            cursor.fetchall()
            cursor.execute(
                "SELECT count(*), sum(CASE WHEN assignee_id = %s THEN 1 ELSE 0 END), "
                "sum(CASE WHEN assignee_id IS NULL THEN 1 ELSE 0 END), "
                "sum(CASE WHEN unread_count > 0 THEN 1 ELSE 0 END) "
                "FROM messaging_conversation WHERE tenant_id = %s AND status = 'OPEN' "
                "AND last_message_at IS NOT NULL", [uid, tid])
            cursor.fetchall()

    p50, p95, _ = _time(baseline, repeat)
    print(f"{'baseline SQL (list + counts)':28s} p50 {p50:7.2f} ms  p95 {p95:7.2f} ms")
    print(f"inbox page / baseline: {figures['inbox page'] / p50:.2f}x; "
          f"list poll / baseline: {figures['list poll'] / p50:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    created = bool(args.database_url) and ensure_database(args.database_url)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            benchdb.setup(args.database_url or None, data_dir, TEND_ALLOWED_HOSTS="testserver",
                          TEND_DB_CONN_MAX_AGE="600",
                          TEND_DB_RLS="1" if args.database_url else "0")
            run(args.conversations, args.repeat)
    finally:
        if created:
            close_and_drop(args.database_url)


if __name__ == "__main__":
    main()
