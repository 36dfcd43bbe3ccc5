"""Contact page reads at scale: one organization with 1M contacts and 10M activities.

Seeds (or, with `--reuse`, reuses) one organization holding `--contacts` contacts (default
1,000,000) and `--activities` activities (default 10,000,000) with set-based SQL
(`INSERT … SELECT` over a number series; UUIDv7-shaped ids built in SQL). The spread is
skewed like a real CRM: 30% of the activities go to the heaviest 0.1% of contacts (the very
heaviest holds about a hundred thousand, the next dozens thousands each), the rest are spread
evenly, so most contacts have a few. Every contact has a primary email identity; the
sampled contacts also get phones, Telegram ids, tags, notes (some pinned, some private),
interactions and tasks, in numbers that differ from one contact to the next. The secondary
indexes and foreign keys of the bulk tables are dropped during the load and rebuilt from
their own definitions afterwards, then everything is ANALYZEd.

Then measures the API reads the contact page makes, through the whole request path (Django's
test client: middleware, API-key authentication, tenant scope and row-level security,
selectors, serialization), for `--sample` contacts (default 500: 450 picked at random, 50 of
the heaviest), each request once per contact, after one warm-up pass:

- `GET /api/v1/contacts/{id}` (the header: fields, identities, tags, consent, metrics);
- `GET /api/v1/contacts/{id}/timeline?limit=20` (the first timeline page, as the page loads it);
- the next timeline page, from the first page's cursor, and a deep page (from the middle of
  the timeline) for the contacts with more than one page;
- `GET /api/v1/contacts/{id}/notes`, `…/interactions`, `GET /api/v1/tasks?contact_id=…`.

The same-run baseline is hand-written SQL fetching the same contact row, identities and tags
and the first timeline page by index (four statements through the same connection, rows
fetched, no serialization); the ratio `contact + timeline / baseline` is printed. The query
count of every endpoint is printed for a light and the heaviest contact (they must be equal).

    uv run python benchmarks/contact_page.py \
        --database-url postgres://tend@127.0.0.1:5432/bench_contact_page
    uv run python benchmarks/contact_page.py --database-url … --reuse     # skip seeding
    uv run python benchmarks/contact_page.py --contacts 100000 --activities 1000000  # SQLite

Without `--database-url` it runs on SQLite in a temporary directory. A PostgreSQL database is
created if missing and kept (so `--reuse` can find it); drop it with `dropdb` when done.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC
from typing import Any
from uuid import UUID

import benchdb
from benchdb import ensure_database

ORG_SLUG = "bench-contact-page"
PAGING = ("timeline, next page", "timeline, deep page")  # not part of loading the page
OWNER_EMAIL = "owner@bench-contact-page.example"
HEAVY_SHARE = 0.3  # of the activities, for the heaviest 0.1% of contacts
BULK_TABLES = ("people_contact", "people_identityalias", "people_activity")
# (type, category, channel, title)
ACTIVITY_KINDS = [
    ("EMAIL_OPENED", "MARKETING", "EMAIL", "Spring newsletter"),
    ("EMAIL_CLICKED", "MARKETING", "EMAIL", "Spring newsletter"),
    ("EVENT_ATTENDED", "EVENTS", "", "Sunday gathering"),
    ("TICKET_PURCHASED", "EVENTS", "", "Autumn retreat"),
    ("DONATION_RECEIVED", "FINANCIAL", "", "Donation"),
    ("INTERACTION_LOGGED", "COMMUNICATION", "PHONE", "Phone"),
    ("NOTE_ADDED", "SYSTEM", "", "Called about the retreat"),
    ("CONTACT_UPDATED", "SYSTEM", "", ""),
    ("MESSAGE_RECEIVED", "COMMUNICATION", "WHATSAPP", "Thanks, see you there"),
    ("PAGE_VIEWED", "ENGAGEMENT", "WEB", "/events/autumn-retreat"),
]


# --- ids ------------------------------------------------------------------------------------


def contact_uuid(n: int) -> UUID:
    """The id the seed SQL gives contact number `n` (UUIDv7 layout, time prefix grows with n)."""
    digest = hashlib.md5(f"c{n}".encode()).hexdigest()  # noqa: S324 - ids, not security
    return UUID(f"0190{n:08x}7{digest[:3]}8{digest[3:18]}")


def _pg_contact_uuid(n: str) -> str:
    return (f"('0190' || lpad(to_hex({n}), 8, '0') || '7' || substr(md5('c' || {n}), 1, 3) "
            f"|| '8' || substr(md5('c' || {n}), 4, 15))::uuid")


def _pg_row_uuid(prefix: str, n: str, at: str) -> str:
    """A UUIDv7-shaped id whose time part is `at` and random part a hash of (prefix, n)."""
    return (f"(lpad(to_hex((extract(epoch from {at}) * 1000)::bigint), 12, '0') || '7' "
            f"|| substr(md5('{prefix}' || {n}), 1, 3) || '8' "
            f"|| substr(md5('{prefix}' || {n}), 4, 15))::uuid")


def _sqlite_functions(raw: Any) -> None:
    """SQLite has no md5/hex helpers: the same ids from Python functions (stored as 32 hex)."""

    def cuuid(n: int) -> str:
        return contact_uuid(n).hex

    def ruuid(prefix: str, n: int, at: str) -> str:
        from datetime import datetime

        ms = int(datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp() * 1000)
        digest = hashlib.md5(f"{prefix}{n}".encode()).hexdigest()  # noqa: S324
        return f"{ms:012x}7{digest[:3]}8{digest[3:18]}"

    raw.create_function("bench_cuuid", 1, cuuid, deterministic=True)
    raw.create_function("bench_ruuid", 3, ruuid, deterministic=True)


class Dialect:
    """The few SQL pieces that differ between PostgreSQL and SQLite."""

    def __init__(self, vendor: str) -> None:
        self.pg = vendor == "postgresql"

    def series(self, name: str, count: int | str) -> str:
        """A CTE `name(n)` of 0 … count-1."""
        if self.pg:
            return f"{name} AS (SELECT generate_series(0, ({count}) - 1) AS n)"
        return (f"{name}(n) AS (SELECT 0 WHERE ({count}) > 0 UNION ALL "
                f"SELECT n + 1 FROM {name} WHERE n + 1 < ({count}))")

    def floor(self, expr: str) -> str:
        return f"floor({expr})::int" if self.pg else f"CAST({expr} AS INTEGER)"

    def with_series(self, name: str, count: int) -> str:
        """What `from_series` needs in front of the statement (SQLite: a recursive CTE)."""
        return "" if self.pg else f"WITH RECURSIVE {self.series(name, count)}"

    def from_series(self, name: str, count: int) -> str:
        """0 … count-1 as a FROM item with the column `n`; streamed, never materialized."""
        return f"generate_series(0, {count} - 1) AS {name}(n)" if self.pg else name

    @property
    def rand(self) -> str:
        return "random()" if self.pg else "(abs(random()) / 9223372036854775808.0)"

    def cuuid(self, n: str) -> str:
        return _pg_contact_uuid(n) if self.pg else f"bench_cuuid({n})"

    def ruuid(self, prefix: str, n: str, at: str) -> str:
        return _pg_row_uuid(prefix, n, at) if self.pg else f"bench_ruuid('{prefix}', {n}, {at})"

    def ago(self, seconds: str) -> str:
        """The time `seconds` before now."""
        if self.pg:
            return f"(now() - ({seconds}) * interval '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ({seconds}) || ' seconds')"

    @property
    def now(self) -> str:
        return "now()" if self.pg else "strftime('%Y-%m-%d %H:%M:%f', 'now')"

    def text(self, expr: str) -> str:
        return f"({expr})::text" if self.pg else f"CAST({expr} AS TEXT)"

    def json(self, literal: str) -> str:
        return f"'{literal}'::jsonb" if self.pg else f"'{literal}'"

    def uid(self, value: UUID | None) -> str:
        if value is None:
            return "NULL"
        return f"'{value}'::uuid" if self.pg else f"'{value.hex}'"

    def ints(self, values: list[int]) -> str:
        """A CTE body listing `values` as rows of `n`."""
        if self.pg:
            return f"SELECT unnest(ARRAY[{','.join(map(str, values))}]::int[]) AS n"
        return " UNION ALL ".join(f"SELECT {v} AS n" for v in values)


# --- set-up ---------------------------------------------------------------------------------


def setup(database_url: str | None, data_dir: str, rls: bool) -> None:
    # Persistent connections, as a production server runs (a new connection per request
    # would add its set-up to every figure).
    benchdb.setup(database_url, data_dir, TEND_ALLOWED_HOSTS="testserver",
                  TEND_DB_CONN_MAX_AGE="600", TEND_DB_RLS="1" if rls else "0")


def organization() -> tuple[Any, Any, bool]:
    """The benchmark organization and its owner; the bool says whether they are new."""
    from tend.core.actors import Actor
    from tend.core.models import Tenant, User
    from tend.core.services.tenants import tenant_create, user_create
    from tend.core.tenancy import system_scope

    with system_scope():
        tenant = Tenant.objects.filter(slug=ORG_SLUG).first()
        if tenant is not None:
            return tenant, User.objects.get(email=OWNER_EMAIL), False
        owner = user_create(email=OWNER_EMAIL, password=None, full_name="Bench Owner")
        tenant = tenant_create(name="Contact page bench", slug=ORG_SLUG, actor=Actor.system(),
                               owner=owner)
        return tenant, owner, True


# --- seeding --------------------------------------------------------------------------------


def _bulk_table_ddl(cursor: Any) -> tuple[list[str], list[str]]:
    """(drop, create) statements for the secondary indexes and constraints of the bulk tables
    that no other table depends on, taken from the catalog so they come back exactly.
    Foreign keys are dropped first and added last (after the unique indexes they rely on)."""
    drop_fks, drops, creates, add_fks = [], [], [], []
    for table in BULK_TABLES:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('f', 'u', 'p')", [table])
        constraints = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass",
                       [table])
        referenced = cursor.fetchone()[0] > 0
        constraint_names = set()
        for name, kind, definition in constraints:
            constraint_names.add(name)  # a constraint's index goes and comes back with it
            if kind in ("p", "u") and referenced:
                continue
            drop = f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"'
            add = f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'
            if kind == "f":
                drop_fks.append(drop)
                add_fks.append(add)
            else:
                drops.append(drop)
                creates.append(add)
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s",
                       [table])
        for name, definition in cursor.fetchall():
            if name not in constraint_names:
                drops.append(f'DROP INDEX "{name}"')
                creates.append(definition)
    return drop_fks + drops, creates + add_fks


def seed(tenant: Any, owner: Any, contacts: int, activities: int, sample: list[int],
         heavy: int) -> dict[str, float]:
    """Fill the organization; returns seconds per step."""
    from django.db import connection, transaction

    from tend.core.models import Tag
    from tend.core.tenancy import system_scope, tenant_scope

    d = Dialect(connection.vendor)
    timings: dict[str, float] = {}
    tid, uid = d.uid(tenant.pk), d.uid(owner.pk)
    now = d.now
    with tenant_scope(tenant):
        tags = [Tag.objects.create(tenant=tenant, name=f"Tag {i}", slug=f"tag-{i}")
                for i in range(12)]
    with system_scope(), transaction.atomic(), connection.cursor() as cursor:
        if d.pg:
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            cursor.execute("SELECT setseed(0.42)")
            drops, creates = _bulk_table_ddl(cursor)
            for sql in drops:
                cursor.execute(sql)
        else:
            _sqlite_functions(connection.connection)
            creates = []

        started = time.perf_counter()
        stages = "'LEAD'", "'CUSTOMER'", "'SUBSCRIBER'"
        stage = f"CASE n % 3 WHEN 0 THEN {stages[0]} WHEN 1 THEN {stages[1]} ELSE {stages[2]} END"
        cursor.execute(f"""
            WITH RECURSIVE {d.series('s', contacts)}
            INSERT INTO people_contact (id, tenant_id, created_at, updated_at, first_name,
                last_name, display_name, display_name_custom, gender, avatar, address_line1,
                address_line2, city, state, postal_code, country, language, time_zone, status,
                lifecycle_stage, job_title, custom, external_ids, source, primary_email,
                primary_phone, lifetime_value_minor, lifetime_value_currency,
                last_activity_type, activity_count_30d, activity_count_90d, email_opt_in,
                sms_opt_in, whatsapp_opt_in, telegram_opt_in, owner_id)
            SELECT {d.cuuid('n')}, {tid}, {now}, {now}, 'First' || n, 'Last' || n,
                'First' || n || ' Last' || n, false, '', '', '', '', 'City ' || (n % 97), '',
                '', 'US', 'en', '', 'ACTIVE', {stage}, '',
                {d.json('{}')}, {d.json('{}')}, 'import', 'person' || n || '@bench.example',
                '', 0, '', '', 0, 0, n % 2 = 0, false, false, false,
                CASE WHEN n % 5 = 0 THEN {uid} END
            FROM s""")
        cursor.execute(f"""
            WITH RECURSIVE {d.series('s', contacts)}
            INSERT INTO people_identityalias (id, tenant_id, created_at, updated_at, type,
                system, value, is_primary, source, contact_id)
            SELECT {d.ruuid('e', 'n', now)}, {tid}, {now}, {now}, 'EMAIL', '',
                'person' || n || '@bench.example', true, 'import', {d.cuuid('n')}
            FROM s""")
        timings["contacts and emails"] = time.perf_counter() - started

        started = time.perf_counter()
        kinds = len(ACTIVITY_KINDS)
        pick = " ".join(f"WHEN {i} THEN '{k[0]}'" for i, k in enumerate(ACTIVITY_KINDS))
        cat = " ".join(f"WHEN {i} THEN '{k[1]}'" for i, k in enumerate(ACTIVITY_KINDS))
        chan = " ".join(f"WHEN {i} THEN '{k[2]}'" for i, k in enumerate(ACTIVITY_KINDS))
        title = " ".join(f"WHEN {i} THEN '{k[3]}'" for i, k in enumerate(ACTIVITY_KINDS))
        heavy_rows = int(activities * HEAVY_SHARE)
        r = d.rand
        # Heavy rows: contact floor(heavy * r^2) (skewed to the first ones); the others: any.
        cursor.execute(f"""
            {d.with_series('s', activities)}
            INSERT INTO people_activity (id, tenant_id, created_at, updated_at, contact_id,
                type, category, channel, title, description, metadata, source, source_id,
                occurred_at, actor_label, related_type, related_id, actor_user_id)
            SELECT {d.ruuid('a', 'n', 'at')}, {tid}, at, at,
                {d.cuuid(f'CASE WHEN c >= {contacts} THEN {contacts} - 1 ELSE c END')},
                CASE k {pick} END, CASE k {cat} END, CASE k {chan} END, CASE k {title} END,
                '',
                CASE WHEN k = 6 AND n % 10 = 0 THEN {d.json('{"private": true}')}
                     WHEN k = 5 THEN {d.json('{"direction": "INBOUND"}')}
                     ELSE {d.json('{}')} END,
                'bench', '', at, '', '', '',
                CASE WHEN k = 6 THEN {uid} END
            FROM (
                SELECT n,
                    CASE WHEN n < {heavy_rows} THEN {d.floor(f'{heavy} * r1 * r1')}
                         ELSE {d.floor(f'{contacts} * r1')} END AS c,
                    {d.floor(f'r2 * {kinds}')} AS k,
                    {d.ago(d.floor('r3 * 94608000') + ' + n % 1000')} AS at
                FROM (SELECT n, {r} AS r1, {r} AS r2, {r} AS r3
                      FROM {d.from_series('s', activities)}) AS drawn
            ) AS rows""")
        timings["activities"] = time.perf_counter() - started

        started = time.perf_counter()
        cursor.execute(f"""
            WITH sampled AS ({d.ints(sample)})
            INSERT INTO people_identityalias (id, tenant_id, created_at, updated_at, type,
                system, value, is_primary, source, contact_id)
            SELECT {d.ruuid('p', 'n', now)}, {tid}, {now}, {now}, 'PHONE', '',
                '+1555' || (1000000 + n), true, 'import', {d.cuuid('n')}
            FROM sampled WHERE n % 2 = 0
            UNION ALL
            SELECT {d.ruuid('t', 'n', now)}, {tid}, {now}, {now}, 'TELEGRAM', '',
                {d.text('9000000 + n')}, true, 'bot', {d.cuuid('n')}
            FROM sampled WHERE n % 3 = 0""")
        tag_rows = " UNION ALL ".join(f"SELECT {i} AS i, {d.uid(t.pk)} AS tag_id"
                                      for i, t in enumerate(tags))
        cursor.execute(f"""
            WITH sampled AS ({d.ints(sample)}), tags AS ({tag_rows})
            INSERT INTO people_contacttag (id, tenant_id, created_at, updated_at, contact_id,
                tag_id)
            SELECT {d.ruuid('g', f"{d.text('n')} || '-' || i", now)}, {tid}, {now}, {now},
                {d.cuuid('n')}, tag_id
            FROM sampled JOIN tags ON tags.i < n % 6""")
        per = {"note": 31, "interaction": 17, "task": 9}
        cursor.execute(f"""
            WITH RECURSIVE sampled AS ({d.ints(sample)}), {d.series('k', per['note'])}
            INSERT INTO people_note (id, tenant_id, created_at, updated_at, contact_id, type,
                body, is_pinned, is_private, author_id)
            SELECT {d.ruuid('n', f"{d.text('sampled.n')} || '-' || k.n", now)}, {tid},
                {d.ago('k.n * 86400')}, {now}, {d.cuuid('sampled.n')}, 'GENERAL',
                'Talked about **the retreat** on day ' || k.n || '; see [the programme]'
                || '(https://example.org/retreat).', k.n = 0, k.n % 7 = 3, {uid}
            FROM sampled JOIN k ON k.n < sampled.n % {per['note']}""")
        cursor.execute(f"""
            WITH RECURSIVE sampled AS ({d.ints(sample)}), {d.series('k', per['interaction'])}
            INSERT INTO people_interaction (id, tenant_id, created_at, updated_at, contact_id,
                channel, direction, summary, outcome, flags, occurred_at, staff_id)
            SELECT {d.ruuid('i', f"{d.text('sampled.n')} || '-' || k.n", now)}, {tid}, {now},
                {now}, {d.cuuid('sampled.n')}, 'PHONE', 'OUTBOUND',
                'Call number ' || k.n, '', {d.json('["follow-up"]')}, {d.ago('k.n * 3600')},
                {uid}
            FROM sampled JOIN k ON k.n < sampled.n % {per['interaction']}""")
        cursor.execute(f"""
            WITH RECURSIVE sampled AS ({d.ints(sample)}), {d.series('k', per['task'])}
            INSERT INTO people_task (id, tenant_id, created_at, updated_at, contact_id, title,
                description, due_at, status, priority, assignee_id)
            SELECT {d.ruuid('k', f"{d.text('sampled.n')} || '-' || k.n", now)}, {tid}, {now},
                {now}, {d.cuuid('sampled.n')}, 'Follow up ' || k.n, '',
                {d.ago('(k.n - 4) * 86400')}, CASE WHEN k.n % 4 = 3 THEN 'DONE' ELSE 'OPEN' END,
                'NORMAL', {uid}
            FROM sampled JOIN k ON k.n < sampled.n % {per['task']}""")
        timings["sampled contacts' details"] = time.perf_counter() - started

        started = time.perf_counter()
        for sql in creates:
            cursor.execute(sql)
        timings["indexes and foreign keys"] = time.perf_counter() - started
    started = time.perf_counter()
    with system_scope(), connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    timings["ANALYZE"] = time.perf_counter() - started
    return timings


# --- measuring ------------------------------------------------------------------------------


def pick_sample(contacts: int, heavy: int, size: int) -> list[int]:
    """`size` contact numbers: a tenth of them the heaviest, the rest at random."""
    n_heavy = min(max(1, size // 10), heavy)
    rng = random.Random(11)  # noqa: S311 - test data
    light = rng.sample(range(heavy, contacts), min(size - n_heavy, contacts - heavy))
    return list(range(n_heavy)) + light


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def describe(values: list[float]) -> str:
    return (f"p50 {percentile(values, 50):6.2f}  p95 {percentile(values, 95):6.2f}  "
            f"p99 {percentile(values, 99):6.2f}  max {max(values):6.2f} ms")


def baseline_read(cursor: Any, d: Dialect, tenant_id: UUID, contact_id: UUID) -> int:
    """Hand-written SQL for the same data: contact row with company, identities, tags, and
    the first timeline page (21 rows: 20 and one to know there is more) by index."""
    t = str(tenant_id) if d.pg else tenant_id.hex
    c = str(contact_id) if d.pg else contact_id.hex
    cursor.execute("SELECT c.*, co.name FROM people_contact c LEFT JOIN people_company co "
                   "ON co.id = c.company_id WHERE c.tenant_id = %s AND c.id = %s", [t, c])
    rows = len(cursor.fetchall())
    cursor.execute("SELECT * FROM people_identityalias WHERE tenant_id = %s AND contact_id = %s "
                   "ORDER BY type, is_primary DESC, value", [t, c])
    rows += len(cursor.fetchall())
    cursor.execute("SELECT t.id, t.name, t.color FROM people_contacttag ct JOIN core_tag t "
                   "ON t.id = ct.tag_id WHERE ct.tenant_id = %s AND ct.contact_id = %s "
                   "ORDER BY t.name", [t, c])
    rows += len(cursor.fetchall())
    cursor.execute("SELECT * FROM people_activity WHERE tenant_id = %s AND contact_id = %s "
                   "ORDER BY occurred_at DESC, id DESC LIMIT 21", [t, c])
    return rows + len(cursor.fetchall())


def measure(tenant: Any, owner: Any, sample: list[int]) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tend.core.selectors.access import actor_for_membership
    from tend.core.services.apikeys import apikey_create
    from tend.core.tenancy import system_scope, tenant_scope

    with system_scope():
        membership = owner.memberships.select_related("role", "tenant", "user").get(
            tenant=tenant)
    with tenant_scope(tenant):
        _key, secret = apikey_create(
            tenant=tenant, actor=actor_for_membership(membership), name="bench",
            permissions=["contacts.view", "activities.view", "notes.view", "tasks.view"])
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    api = "/api/v1"

    def deep_cursor(cid: UUID) -> str:
        """A cursor in the middle of the contact's timeline."""
        from tend.core.api.base import encode_cursor
        from tend.people.models import Activity

        with tenant_scope(tenant):
            qs = Activity.objects.filter(tenant=tenant, contact_id=cid)
            row = qs.order_by("-occurred_at", "-id").values_list("occurred_at", "id")[
                qs.count() // 2]
        return encode_cursor(list(row))

    def urls(cid: UUID, cursor: str | None) -> dict[str, tuple[str, dict[str, str]]]:
        out = {
            "contact": (f"{api}/contacts/{cid}", {}),
            "timeline, first page": (f"{api}/contacts/{cid}/timeline", {"limit": "20"}),
            "notes": (f"{api}/contacts/{cid}/notes", {}),
            "interactions": (f"{api}/contacts/{cid}/interactions", {}),
            "open tasks": (f"{api}/tasks", {"contact_id": str(cid), "status": "OPEN"}),
        }
        if cursor:
            out["timeline, next page"] = (f"{api}/contacts/{cid}/timeline",
                                          {"limit": "20", "cursor": cursor})
            out["timeline, deep page"] = (f"{api}/contacts/{cid}/timeline",
                                          {"limit": "20", "cursor": deep[cid]})
        return out

    ids = [contact_uuid(n) for n in sample]
    cursors: dict[UUID, str | None] = {}
    deep: dict[UUID, str] = {}
    for cid in ids:  # warm-up pass; also learns each first page's cursor
        first = client.get(f"{api}/contacts/{cid}/timeline", {"limit": "20"})
        assert first.status_code == 200, first.content
        cursors[cid] = first.json()["next_cursor"]
        if cursors[cid]:
            deep[cid] = deep_cursor(cid)
        for url, params in urls(cid, None).values():
            assert client.get(url, params).status_code == 200, url

    counts: dict[str, list[int]] = {}
    for cid in (ids[-1], ids[0]):  # a light one and the heaviest
        for name, (url, params) in urls(cid, cursors[cid]).items():
            with CaptureQueriesContext(connection) as queries:
                client.get(url, params)
            counts.setdefault(name, []).append(len(queries.captured_queries))

    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    pair: list[float] = []
    whole: list[float] = []
    for cid in ids:
        spent: dict[str, float] = {}
        for name, (url, params) in urls(cid, cursors[cid]).items():
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(url, params)
            spent[name] = (time.perf_counter() - started) * 1000
            cpu.setdefault(name, []).append((time.process_time() - cpu_started) * 1000)
            assert response.status_code == 200
            times.setdefault(name, []).append(spent[name])
        pair.append(spent["contact"] + spent["timeline, first page"])
        whole.append(sum(v for k, v in spent.items() if k not in PAGING))

    d = Dialect(connection.vendor)
    base: list[float] = []
    with tenant_scope(tenant), connection.cursor() as cursor:
        for cid in ids:
            baseline_read(cursor, d, tenant.pk, cid)
        for cid in ids:
            started = time.perf_counter()
            baseline_read(cursor, d, tenant.pk, cid)
            base.append((time.perf_counter() - started) * 1000)

    heavy_n = sum(1 for c in cursors.values() if c)
    print(f"\n{len(ids)} contacts ({heavy_n} with more than one timeline page); "
          f"the next and a deep page measured for those")
    print("queries per request (light contact, heaviest contact):")
    for name, c in counts.items():
        print(f"  {name:22} {c}")
    print("API reads (ms):")
    for name, values in times.items():
        print(f"  {name:22} {describe(values)}")
    print(f"  {'contact + timeline':22} {describe(pair)}")
    print(f"  {'whole page (5 reads)':22} {describe(whole)}")
    print("CPU time of this process per read (ms; the part other load on the machine does "
          "not stretch):")
    for name, values in cpu.items():
        print(f"  {name:22} {describe(values)}")
    print(f"baseline SQL (contact, identities, tags, 21 activities):\n"
          f"  {'':22} {describe(base)}")
    print(f"ratio contact + timeline / baseline: p50 "
          f"{percentile(pair, 50) / percentile(base, 50):.1f}x, p95 "
          f"{percentile(pair, 95) / percentile(base, 95):.1f}x")
    print(f"mean per read of contact + timeline: {statistics.mean(pair) / 2:.2f} ms; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--database-url", default=os.environ.get("TEND_BENCH_DATABASE_URL"))
    parser.add_argument("--reuse", action="store_true",
                        help="use the organization a previous run seeded in this database")
    parser.add_argument("--no-rls", action="store_true",
                        help="PostgreSQL without row-level security")
    args = parser.parse_args()
    if args.database_url:
        ensure_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="tend-bench-page-") as data_dir:
        setup(args.database_url, data_dir, rls=bool(args.database_url) and not args.no_rls)
        from django.conf import settings
        from django.db import connection

        tenant, owner, new = organization()
        if args.reuse and not new:
            from tend.core.tenancy import tenant_scope
            from tend.people.models import Activity, Contact

            with tenant_scope(tenant):
                contacts = Contact.objects.count()
                activities = Activity.objects.count()
            print(f"reusing {contacts:,} contacts and {activities:,} activities")
        else:
            if not new:
                sys.exit(f"{ORG_SLUG} exists already: pass --reuse, or drop the database")
            contacts, activities = args.contacts, args.activities
        heavy = max(1, contacts // 1000)
        sample = pick_sample(contacts, heavy, args.sample)
        if new:
            started = time.perf_counter()
            timings = seed(tenant, owner, contacts, activities, sample, heavy)
            print(f"seeded {contacts:,} contacts and {activities:,} activities in "
                  f"{time.perf_counter() - started:.1f} s: "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        print(f"database: {connection.vendor}"
              + (f" (row-level security {'on' if settings.TEND_DB_RLS else 'off'})"
                 if connection.vendor == "postgresql" else ""))
        measure(tenant, owner, sample)
        connection.close()


if __name__ == "__main__":
    main()
