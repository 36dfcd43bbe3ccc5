"""Segments (W2): refreshing 20 materialized segments over 1M contacts and 5M activities, and
keeping one contact's memberships true after a change.

Seeds an organization with set-based SQL (contacts with JSON custom fields, tags and activity
metrics; five activities per contact over six months), then:

1. **fill**: each of the 20 segments (the five system segments and 15 more: columns, JSON
   custom fields, tags, activity counts and recency, OR groups, segment-in-segment) is filled
   for the first time;
2. **refresh all 20**: 0.5% of the contacts change (city, stage, custom values, metrics,
   fresh donations), then every segment refreshes (the set-based difference, its entered/left
   activities, counts, history) — the figure to keep under 3 s;
3. **per segment vs hand-written SQL**: the data flips back and forth between the two states;
   each segment's refresh (state A → B) is timed against a hand-written
   `DELETE … NOT EXISTS` + `INSERT … SELECT … NOT EXISTS` applying the same-sized difference
   (B → A) to a copy of its membership with the WHERE clause written by hand;
4. **one contact**: 200 contacts get a city change committed, then the background path
   (`segments_reevaluate_contact` with the change's kinds, as the worker runs it) is timed;
   p50/p95 — the figure to keep under 50 ms.

    uv run python benchmarks/segments.py --database-url postgres://tend@127.0.0.1:5432/bench_seg
    uv run python benchmarks/segments.py --contacts 100000          # SQLite in a temp directory

The PostgreSQL database must exist and be empty or hold an earlier run of this script (each
run makes a new organization).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import benchdb

TYPES = ["EMAIL_OPENED", "EVENT_ATTENDED", "DONATION_RECEIVED", "TICKET_PURCHASED",
         "MESSAGE_SENT"]


def setup(database_url: str | None, data_dir: str) -> None:
    # The background path is timed directly; enqueued tasks must not run inline.
    benchdb.setup(database_url, data_dir,
                  TEND_TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend")


# --- seeding -----------------------------------------------------------------------------------


Sql = benchdb.Sql


def _execute(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> int:
    # Modulo signs are doubled so the drivers do not read them as placeholders.
    return benchdb.execute(sql.replace("%", "%%").replace("%%s", "%s"), list(params))


def seed(tenant: Any, contacts: int, sql: Sql, stamp: int) -> dict[str, Any]:
    from django.db import connection

    from tend.core.actors import Actor
    from tend.core.services.customfields import customfield_create
    from tend.core.services.tags import tag_create
    from tend.people.models import Activity, Contact, ContactTag

    actor = Actor.system()
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="plan",
                       label={"en": "Plan"}, field_type="choice",
                       choices=[{"value": v, "label": {"en": v}} for v in
                                ("free", "silver", "gold")])
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="score",
                       label={"en": "Score"}, field_type="number")
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="vip",
                       label={"en": "VIP"}, field_type="boolean")
    tag_a = tag_create(tenant=tenant, actor=actor, name="Alumni")
    tag_b = tag_create(tenant=tenant, actor=actor, name="Board")
    tenant_id = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    n = "s.n"
    prefix = f"{stamp & 0xFFFFFFF:08x}"
    values = {
        "id": sql.ordered_uuid(prefix, n), "tenant_id": "%s",
        "created_at": sql.days_ago(f"{n} % 365"),
        "updated_at": sql.now(), "first_name": f"'P' || {n}", "last_name": "'Bench'",
        "display_name": f"'Person ' || {n}", "display_name_custom": sql.false(),
        "city": sql.pick(n, ["dubai", "muscat", "doha", "riyadh", "cairo"]),
        "status": f"(CASE WHEN {n} % 20 = 0 THEN 'INACTIVE' ELSE 'ACTIVE' END)",
        "lifecycle_stage": sql.pick(f"{n} / 7", ["LEAD", "CUSTOMER", "MEMBER", "ADVOCATE",
                                                 "CHURNED", "SUBSCRIBER"]),
        "custom": sql.custom(n), "postal_code": f"CAST({n} AS text)" if sql.pg else f"{n}",
        "primary_email": f"'p' || {n} || '@bench.example'",
        "last_activity_at": sql.days_ago(f"({n} * 13) % 200"),
        "activity_count_30d": f"{n} % 12", "activity_count_90d": f"{n} % 30",
        "email_opt_in": f"({n} % 3 <> 0)",
    }
    columns, exprs = benchdb.column_exprs(Contact, values, sql)
    params = [tenant_id]
    clock = time.perf_counter()
    _execute(f"INSERT INTO people_contact ({', '.join(columns)}) "
             f"SELECT {', '.join(exprs)} FROM {sql.series('s', contacts)}", params)
    c_num = sql.num("c.postal_code")
    g = "g.n"
    activity_values = {
        "id": sql.ordered_uuid(f"{(stamp + 1) & 0xFFFFFFF:08x}", f"{c_num} * 8 + {g}"),
        "tenant_id": "c.tenant_id", "created_at": sql.now(),
        "updated_at": sql.now(), "contact_id": "c.id",
        "type": sql.pick(f"{c_num} + {g} / 2", TYPES), "category": "'ENGAGEMENT'",
        "title": "'Benchmark'", "metadata": "'{}'", "source": "'bench'",
        "occurred_at": sql.days_ago(f"({c_num} * 7 + {g} * 31) % 180"),
    }
    a_columns, a_exprs = [], []
    for field in Activity._meta.concrete_fields:
        if field.column in activity_values:
            a_columns.append(field.column)
            a_exprs.append(activity_values[field.column])
        elif not field.null:
            a_columns.append(field.column)
            a_exprs.append("''" if field.get_internal_type() != "JSONField" else "'{}'")
    _execute(f"INSERT INTO people_activity ({', '.join(a_columns)}) "
             f"SELECT {', '.join(a_exprs)} FROM people_contact c CROSS JOIN "
             f"{sql.series('g', 5)} WHERE c.tenant_id = %s", [tenant_id])
    for tag, modulo in ((tag_a, 4), (tag_b, 7)):
        tag_id = ContactTag._meta.get_field("tag").get_db_prep_value(tag.pk, connection)
        _execute(f"INSERT INTO people_contacttag (id, tenant_id, created_at, updated_at, "
                 f"contact_id, tag_id) SELECT {sql.uuid()}, c.tenant_id, {sql.now()}, "
                 f"{sql.now()}, c.id, %s FROM people_contact c "
                 f"WHERE c.tenant_id = %s AND {c_num} % {modulo} = 0", [tag_id, tenant_id])
    _execute("ANALYZE")
    seeded = time.perf_counter() - clock
    return {"tag_a": str(tag_a.pk), "tag_b": str(tag_b.pk), "seconds": seeded,
            "tenant_db": tenant_id}


# --- the segments and their hand-written twins ---------------------------------------------------


def definitions(tags: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None, str]]:
    """(name, rule or None for a system segment, hand-written WHERE on `c`). `{d:N}` in the
    WHERE stands for the start of the day N days ago; `{now}` for now; `{seg:NAME}` for the
    id of another segment."""
    def leaf(field: str, operator: str, value: Any = None) -> dict[str, Any]:
        node = {"field": field, "operator": operator}
        if value is not None:
            node["value"] = value
        return node

    def rule(*nodes: Any, combinator: str = "and") -> dict[str, Any]:
        return {"combinator": combinator, "rules": list(nodes)}

    act = ("EXISTS (SELECT 1 FROM people_activity a WHERE a.tenant_id = c.tenant_id AND "
           "a.contact_id = c.id AND a.type = '{t}' AND a.occurred_at >= {{d:{days}}} "
           "AND a.occurred_at <= {{now}})")
    return [
        ("All contacts", None, "1 = 1"),
        ("Active members", None,
         "c.lifecycle_stage IN ('MEMBER', 'ADVOCATE') AND c.status = 'ACTIVE'"),
        ("High engagement", None,
         "c.last_activity_at >= {d:14} AND c.last_activity_at <= {now} "
         "AND c.activity_count_30d >= 5"),
        ("At risk", None, "c.status = 'ACTIVE' AND c.last_activity_at < {d:60}"),
        ("Recently added", None, "c.created_at >= {d:30} AND c.created_at <= {now}"),
        ("Dubai", rule(leaf("city", "equals", "dubai")), "c.city = 'dubai'"),
        ("Gulf cities", rule(leaf("city", "in", ["dubai", "doha"])),
         "c.city IN ('dubai', 'doha')"),
        ("Gold plan", rule(leaf("custom.plan", "equals", "gold")), "{json:plan} = 'gold'"),
        ("High score", rule(leaf("custom.score", "greaterThanOrEqual", 80)),
         "{jsonnum:score} >= 80"),
        ("VIP", rule(leaf("custom.vip", "equals", True)), "{jsonbool:vip}"),
        ("Paying, middling score", rule(leaf("custom.plan", "in", ["silver", "gold"]),
                                        leaf("custom.score", "between", [50, 70])),
         "{json:plan} IN ('silver', 'gold') AND {jsonnum:score} BETWEEN 50 AND 70"),
        ("Alumni", rule(leaf("tags", "hasAny", [tags["tag_a"]])),
         "EXISTS (SELECT 1 FROM people_contacttag t WHERE t.contact_id = c.id "
         "AND t.tenant_id = c.tenant_id AND t.tag_id = {tag_a})"),
        ("Alumni on the board", rule(leaf("tags", "hasAll", [tags["tag_a"], tags["tag_b"]])),
         "EXISTS (SELECT 1 FROM people_contacttag t WHERE t.contact_id = c.id "
         "AND t.tenant_id = c.tenant_id AND t.tag_id = {tag_a}) AND EXISTS (SELECT 1 FROM "
         "people_contacttag t WHERE t.contact_id = c.id AND t.tenant_id = c.tenant_id "
         "AND t.tag_id = {tag_b})"),
        ("Donors, 90 days", rule(leaf("activityCount", "greaterThanOrEqual",
                                      {"type": "DONATION_RECEIVED", "days": 90, "count": 1})),
         act.format(t="DONATION_RECEIVED", days=90)),
        ("Email readers", rule(leaf("activityCount", "greaterThanOrEqual",
                                    {"type": "EMAIL_OPENED", "days": 60, "count": 2})),
         "(SELECT COUNT(*) FROM people_activity a WHERE a.tenant_id = c.tenant_id AND "
         "a.contact_id = c.id AND a.type = 'EMAIL_OPENED' AND a.occurred_at >= {d:60} "
         "AND a.occurred_at <= {now}) >= 2"),
        ("Came to an event lately", rule(leaf("lastActivity", "withinLast",
                                              {"type": "EVENT_ATTENDED", "amount": 60})),
         act.format(t="EVENT_ATTENDED", days=60)),
        ("Lapsed ticket buyers", rule(leaf("lastActivity", "moreThanAgo",
                                           {"type": "TICKET_PURCHASED", "amount": 120})),
         "EXISTS (SELECT 1 FROM people_activity a WHERE a.tenant_id = c.tenant_id AND "
         "a.contact_id = c.id AND a.type = 'TICKET_PURCHASED') AND NOT EXISTS (SELECT 1 FROM "
         "people_activity a WHERE a.tenant_id = c.tenant_id AND a.contact_id = c.id AND "
         "a.type = 'TICKET_PURCHASED' AND a.occurred_at >= {d:120})"),
        ("Gold donors", rule(leaf("segment", "equals", "{seg:Gold plan}"),
                             leaf("segment", "equals", "{seg:Donors, 90 days}")),
         "EXISTS (SELECT 1 FROM {members} m WHERE m.segment_id = {seg:Gold plan} AND "
         "m.contact_id = c.id) AND EXISTS (SELECT 1 FROM {members} m WHERE "
         "m.segment_id = {seg:Donors, 90 days} AND m.contact_id = c.id)"),
        ("Cairo or VIP", rule(leaf("city", "equals", "cairo"), leaf("custom.vip", "equals", True),
                              combinator="or"),
         "(c.city = 'cairo' OR {jsonbool:vip})"),
        ("Gold donors or customers", rule(
            leaf("segment", "equals", "{seg:Gold donors}"),
            rule(leaf("lifecycleStage", "equals", "CUSTOMER"),
                 leaf("tags", "hasAny", [tags["tag_b"]])), combinator="or"),
         "(EXISTS (SELECT 1 FROM {members} m WHERE m.segment_id = {seg:Gold donors} AND "
         "m.contact_id = c.id) OR (c.lifecycle_stage = 'CUSTOMER' AND EXISTS (SELECT 1 FROM "
         "people_contacttag t WHERE t.contact_id = c.id AND t.tenant_id = c.tenant_id AND "
         "t.tag_id = {tag_b})))"),
    ]


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{seg:"):
        return ids[value[5:-1]]
    return value


class HandWritten:
    """The hand-written twin of a segment: its WHERE, with placeholders filled."""

    def __init__(self, sql: Sql, tenant: Any, tags: dict[str, Any], ids: dict[str, str],
                 members_table: str) -> None:
        self.sql, self.tenant, self.tags, self.ids = sql, tenant, tags, ids
        self.members = members_table

    def where(self, template: str) -> tuple[str, list[Any]]:
        import re

        from django.db import connection
        from django.utils import timezone

        from tend.marketing.models import SegmentMembership

        params: list[Any] = []
        now = timezone.now()
        today = now.astimezone(UTC).date()

        def db_id(value: str) -> Any:
            return SegmentMembership._meta.get_field("segment").get_db_prep_value(
                value, connection)

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            kind, _sep, arg = token.partition(":")
            if kind == "d":
                start = datetime.combine(today - timedelta(days=int(arg)), datetime.min.time(),
                                         tzinfo=UTC)
                params.append(connection.ops.adapt_datetimefield_value(start))
                return "%s"
            if kind == "now":
                params.append(connection.ops.adapt_datetimefield_value(now))
                return "%s"
            if kind == "seg":
                params.append(db_id(self.ids[arg]))
                return "%s"
            if kind in ("tag_a", "tag_b"):
                params.append(db_id(self.tags[kind]))
                return "%s"
            if kind == "members":
                return self.members
            if kind == "json":
                return (f"(c.custom ->> '{arg}')" if self.sql.pg
                        else f"json_extract(c.custom, '$.{arg}')")
            if kind == "jsonnum":
                return (f"(c.custom ->> '{arg}')::numeric" if self.sql.pg
                        else f"json_extract(c.custom, '$.{arg}')")
            if kind == "jsonbool":
                return (f"(c.custom -> '{arg}') = 'true'::jsonb" if self.sql.pg
                        else f"json_extract(c.custom, '$.{arg}') = 1")
            raise KeyError(token)

        text = re.sub(r"\{([a-z_]+(?::[^}]*)?)\}", replace, template)
        return text, params

    def population(self) -> str:
        return ("c.tenant_id = %s AND c.status IN ('ACTIVE', 'INACTIVE') "
                "AND c.deleted_at IS NULL AND c.erased_at IS NULL")

    def refresh(self, segment_id: str, template: str) -> int:
        """Apply the difference to the copy table (its rows for `segment_id`)."""
        from django.db import connection

        from tend.marketing.models import SegmentMembership

        where, params = self.where(template)
        seg = SegmentMembership._meta.get_field("segment").get_db_prep_value(segment_id,
                                                                            connection)
        tenant_id = SegmentMembership._meta.get_field("tenant").get_db_prep_value(
            self.tenant.pk, connection)
        target = f"SELECT c.id FROM people_contact c WHERE {self.population()} AND ({where})"
        if self.sql.pg:
            # The settings the product's refresh runs with (no JIT, more memory for hashing).
            from tend.marketing.services.membership import REFRESH_SETTINGS

            for name, value in REFRESH_SETTINGS.items():
                _execute("SELECT set_config(%s, %s, true)", [name, value])
        changed = _execute(
            f"DELETE FROM bench_members WHERE segment_id = %s AND NOT EXISTS "
            f"(SELECT 1 FROM ({target}) t WHERE t.id = bench_members.contact_id)"
            if self.sql.pg else
            f"DELETE FROM bench_members WHERE segment_id = %s AND contact_id NOT IN ({target})",
            [seg, tenant_id, *params])
        if self.sql.pg:
            absent = ("NOT EXISTS (SELECT 1 FROM bench_members x WHERE x.segment_id = %s "
                      "AND x.contact_id = c.id)")
        else:
            absent = "c.id NOT IN (SELECT x.contact_id FROM bench_members x WHERE " \
                     "x.segment_id = %s)"
        changed += _execute(
            f"INSERT INTO bench_members (segment_id, contact_id) SELECT %s, c.id FROM "
            f"people_contact c WHERE {self.population()} AND ({where}) AND {absent}",
            [seg, tenant_id, *params, seg])
        return changed


# --- the runs ----------------------------------------------------------------------------------


def flip(tenant: Any, sql: Sql, contacts: int, state: str) -> None:
    """Move 0.5% of the contacts between two states (B: changed and with fresh donations)."""
    from django.db import connection

    from tend.people.models import Contact

    tenant_id = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    num = sql.num("postal_code")
    chosen = f"tenant_id = %s AND {num} % 200 = 7"
    if state == "B":
        _execute(f"UPDATE people_contact SET city = 'cairo', lifecycle_stage = 'CUSTOMER', "
                 f"activity_count_30d = 9, last_activity_at = {sql.now()}, custom = "
                 f"{sql.custom(num + ' + 1')} WHERE {chosen}", [tenant_id])
        _execute(f"INSERT INTO people_activity (id, tenant_id, created_at, updated_at, "
                 f"contact_id, type, category, channel, title, description, metadata, source, "
                 f"source_id, occurred_at, actor_label, related_type, related_id) "
                 f"SELECT {sql.uuid()}, tenant_id, {sql.now()}, {sql.now()}, id, "
                 f"'DONATION_RECEIVED', 'FINANCIAL', '', 'flip', '', '{{}}', 'bench-flip', '', "
                 f"{sql.now()}, '', '', '' FROM people_contact WHERE {chosen}", [tenant_id])
    else:
        _execute(f"UPDATE people_contact SET city = {sql.pick(num, ['dubai', 'muscat', 'doha', 'riyadh', 'cairo'])}, "  # noqa: E501
                 f"lifecycle_stage = {sql.pick(num + ' / 7', ['LEAD', 'CUSTOMER', 'MEMBER', 'ADVOCATE', 'CHURNED', 'SUBSCRIBER'])}, "  # noqa: E501
                 f"activity_count_30d = {num} % 12, last_activity_at = "
                 f"{sql.days_ago(f'({num} * 13) % 200')}, custom = {sql.custom(num)} "
                 f"WHERE {chosen}", [tenant_id])
        _execute("DELETE FROM people_activity WHERE tenant_id = %s AND source = 'bench-flip'",
                 [tenant_id])


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def _reuse(contacts: int) -> Any:
    """The organization of an earlier run with `contacts` contacts, back to its seeded state
    (no segments of its own, no memberships, no segment or flip activities)."""
    from tend.core.models import Tenant
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.marketing.models import Segment, SegmentCount, SegmentMembership, SegmentRefresh
    from tend.people.models import Activity, Contact

    with system_scope():
        candidates = list(Tenant.objects.filter(slug__startswith="bench-seg-")
                          .order_by("-created_at"))
    for tenant in candidates:
        with tenant_scope(tenant):
            if Contact.objects.filter(tenant=tenant).count() != contacts:
                continue
            if Segment.objects.filter(tenant=tenant, type="DYNAMIC").count() >= 20:
                return tenant  # filled by that run: kept, brought up to date by the caller
            for model in (SegmentMembership, SegmentRefresh, SegmentCount):
                model.objects.filter(tenant=tenant).delete()
            Segment.objects.filter(tenant=tenant, is_system=False).delete()
            Activity.objects.filter(tenant=tenant, source__in=["segments", "bench-flip"]).delete()
            return tenant
    return None


def _info(tenant: Any) -> dict[str, Any]:
    from django.db import connection

    from tend.core.models import Tag
    from tend.people.models import Contact

    tags = {t.name: str(t.pk) for t in Tag.objects.filter(tenant=tenant)}
    return {"tag_a": tags["Alumni"], "tag_b": tags["Board"], "seconds": 0.0,
            "tenant_db": Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk,
                                                                             connection)}


class Statements:
    """Records the SQL a block runs (to explain the refresh statements afterwards)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.seen.append((sql, params))
        return execute(sql, params, many, context)


def explain(tenant: Any, actor: Any, ordered: list[Any]) -> None:
    """EXPLAIN ANALYZE of each segment's difference statement (PostgreSQL; rolled back)."""
    from django.db import connection, transaction

    from tend.marketing.services.membership import REFRESH_SETTINGS, segment_refresh

    class Rollback(Exception):
        pass

    for segment in ordered:
        statements = Statements()
        try:
            with transaction.atomic():
                with connection.execute_wrapper(statements):
                    segment_refresh(tenant=tenant, actor=actor, segment=segment,
                                    trigger="SCHEDULE")
                raise Rollback
        except Rollback:
            pass
        for sql, params in statements.seen:
            if not sql.startswith("WITH t AS"):
                continue
            try:
                with transaction.atomic():
                    with connection.cursor() as cursor:
                        for name, value in REFRESH_SETTINGS.items():
                            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                        plan = [row[0] for row in cursor.fetchall()]
                    raise Rollback
            except Rollback:
                pass
            print(f"\n--- {segment.name}")
            print("\n".join(plan))


def run(contacts: int, samples: int, reuse: bool, do_explain: bool) -> None:
    from django.db import connection, transaction

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.marketing.models import Segment, SegmentMembership
    from tend.marketing.receivers import activity_kinds
    from tend.marketing.selectors.segments import segment_get
    from tend.marketing.services.membership import (
        dynamic_segments_in_order,
        segment_refresh,
        segments_reevaluate_contact,
        segments_refresh,
    )
    from tend.marketing.services.segments import segment_create
    from tend.people.models import Activity, Contact
    from tend.people.services.contacts import contact_update
    from tend.rules import rule_contacts
    from tend.rules.selectors import rule_count

    sql = Sql(connection.vendor)
    actor = Actor.system()
    stamp = int(time.time())
    tenant = _reuse(contacts) if reuse else None
    if tenant is None:
        with system_scope():
            tenant = tenant_create(name="Bench", slug=f"bench-seg-{stamp}", actor=actor)
    with tenant_scope(tenant):
        if reuse and Contact.objects.filter(tenant=tenant).exists():
            info = _info(tenant)
            flip(tenant, sql, contacts, "A")
        else:
            info = seed(tenant, contacts, sql, stamp)
        print(f"database: {connection.vendor}; {contacts:,} contacts, "
              f"{Activity.objects.filter(tenant=tenant).count():,} activities "
              f"(seeded in {info['seconds']:.1f} s)")
        defs = definitions(info)
        ids: dict[str, str] = {}
        fills: dict[str, float] = {}
        system = {s.name: s for s in Segment.objects.filter(tenant=tenant, is_system=True)}
        kept = {s.name: s for s in Segment.objects.filter(tenant=tenant, type="DYNAMIC")}
        if reuse and len(kept) >= len(defs):
            # Filled by an earlier run: only bring the members up to date with the data.
            begin = time.perf_counter()
            segments_refresh(tenant=tenant, actor=actor, segments=list(kept.values()),
                             trigger="MANUAL")
            fills["(kept; refreshed)"] = time.perf_counter() - begin
            ids = {name: str(s.pk) for name, s in kept.items()}
        for name, rule, _where in defs if not ids else []:
            if rule is None:
                segment = system[name]
                Segment.objects.filter(pk=segment.pk).update(last_refreshed_at=None)
                SegmentMembership.objects.filter(segment=segment).delete()
                segment.last_refreshed_at = None
                begin = time.perf_counter()
                segment_refresh(tenant=tenant, actor=actor, segment=segment)
            else:
                begin = time.perf_counter()
                segment = segment_create(tenant=tenant, actor=actor, data={
                    "name": name, "type": "DYNAMIC", "rule": _resolve(rule, ids)})
            fills[name] = time.perf_counter() - begin
            ids[name] = str(segment.pk)
        segments = {s.name: s for s in Segment.objects.filter(tenant=tenant)}
        print(f"first fill of 20 segments: {sum(fills.values()):.2f} s in all "
              f"(slowest: {max(fills, key=lambda k: fills[k])}, {max(fills.values()):.2f} s)")
        _execute("ANALYZE")  # what autovacuum does after the fill
        ordered = dynamic_segments_in_order(segments[name] for name, _r, _w in defs)
        hand = HandWritten(sql, tenant, info, ids, "bench_members")

        if do_explain and sql.pg:
            flip(tenant, sql, contacts, "B")
            explain(tenant, actor, ordered)
            flip(tenant, sql, contacts, "A")

        # 2. Refresh all 20 after 0.5% of the contacts changed, as the schedule does: one
        # batch (`segments_refresh`), and for comparison the 20 refreshed one by one. The
        # state flips A→B→A→…; each figure is a median over the rounds.
        batch_t: list[float] = []
        single_t: list[float] = []
        moved = 0
        state = "A"
        for _round in range(samples):
            for timer in ("batch", "single"):
                state = "B" if state == "A" else "A"
                flip(tenant, sql, contacts, state)
                fresh = [Segment.objects.get(pk=s.pk) for s in ordered]
                begin = time.perf_counter()
                if timer == "batch":
                    refreshes = segments_refresh(tenant=tenant, actor=actor, segments=fresh,
                                                 trigger="SCHEDULE")
                    moved = sum(r.added + r.removed for r in refreshes)
                    batch_t.append(time.perf_counter() - begin)
                else:
                    for segment in fresh:
                        segment_refresh(tenant=tenant, actor=actor, segment=segment,
                                        trigger="SCHEDULE")
                    single_t.append(time.perf_counter() - begin)
        print(f"refresh all 20 after 0.5% changed ({moved:,} entered or left): "
              f"batch {statistics.median(batch_t):.2f} s, one by one "
              f"{statistics.median(single_t):.2f} s  target ≤ 3 s  "
              f"(runs: {', '.join(f'{t:.2f}' for t in batch_t)})")

        # 3. Per segment: ours (one state to the other) against hand-written (back) on a
        # copy of the members.
        _execute("DROP TABLE IF EXISTS bench_members")
        id_type = "uuid" if sql.pg else "char(32)"
        _execute(f"CREATE TABLE bench_members (segment_id {id_type} NOT NULL, "
                 f"contact_id {id_type} NOT NULL, PRIMARY KEY (segment_id, contact_id))")
        _execute("INSERT INTO bench_members (segment_id, contact_id) SELECT segment_id, "
                 "contact_id FROM marketing_segmentmembership WHERE tenant_id = %s",
                 [info["tenant_db"]])
        _execute("ANALYZE")
        ours_t: dict[str, list[float]] = {}
        hand_t: dict[str, list[float]] = {}
        hand_state = state
        for _round in range(samples):
            for timer in ("hand", "ours"):
                state = "B" if state == "A" else "A"
                flip(tenant, sql, contacts, state)
                for segment in ordered:
                    where = next(w for n, _r, w in defs if n == segment.name)
                    fresh = Segment.objects.get(pk=segment.pk)
                    begin = time.perf_counter()
                    with transaction.atomic():
                        if timer == "ours":
                            segment_refresh(tenant=tenant, actor=actor, segment=fresh,
                                            trigger="SCHEDULE")
                        else:
                            hand.refresh(str(segment.pk), where)
                    elapsed = time.perf_counter() - begin
                    (ours_t if timer == "ours" else hand_t).setdefault(segment.name, []).append(
                        elapsed)
                if timer == "hand":
                    hand_state = state
        # Bring the copy to the current state too: both must then hold the same members.
        if hand_state != state:
            for segment in ordered:
                hand.refresh(str(segment.pk), next(w for n, _r, w in defs if n == segment.name))
        mismatches = []
        for segment in ordered:
            a = SegmentMembership.objects.filter(segment=segment).count()
            with connection.cursor() as cursor:
                cursor.execute("SELECT COUNT(*) FROM bench_members WHERE segment_id = %s", [
                    SegmentMembership._meta.get_field("segment").get_db_prep_value(
                        segment.pk, connection)])
                b = cursor.fetchone()[0]
            if a != b:
                mismatches.append(f"{segment.name}: {a} vs {b}")
        print(f"\nper segment (median of {samples}): our refresh vs hand-written SQL, "
              f"same-sized difference")
        worst = 0.0
        within = 0
        for segment in ordered:
            ours = statistics.median(ours_t[segment.name]) * 1000
            theirs = statistics.median(hand_t[segment.name]) * 1000
            ratio = ours / theirs if theirs else float("inf")
            worst = max(worst, ratio)
            within += ratio <= 1.5
            count = Segment.objects.get(pk=segment.pk).member_count
            print(f"  {segment.name:<28} {count:>9,} members  "
                  f"ours {ours:8.1f} ms  hand {theirs:8.1f} ms  {ratio:5.2f} x")
        print(f"  worst ratio {worst:.2f} x; {within} of {len(ordered)} within 1.5 x "
              f"(sum: ours {sum(statistics.median(v) for v in ours_t.values()):.2f} s, "
              f"hand {sum(statistics.median(v) for v in hand_t.values()):.2f} s)")
        if mismatches:
            print("  member counts differ: " + "; ".join(mismatches))
        _execute("DROP TABLE bench_members")

        # 4. Counts: a saved segment's (materialized) and an unsaved rule's, each against a
        # hand-written count(*) of the same members.
        print(f"\ncounts (median of {max(3, samples)}): saved segment (member_count) | "
              f"unsaved rule: count query (with the ten-name sample of /rules/count) | "
              f"hand-written count(*)")
        rule_ratios = []
        counting = HandWritten(sql, tenant, info, ids, SegmentMembership._meta.db_table)
        for name, _rule, where in defs:
            segment = segments[name]
            saved = [_timed(lambda k=str(segment.pk): segment_get(
                tenant=tenant, segment_id=k).member_count) for _ in range(max(3, samples))]
            stored = Segment.objects.get(pk=segment.pk).rule
            unsaved = [_timed(lambda r=stored: rule_contacts(tenant=tenant, rule=r).count())
                       for _ in range(max(3, samples))]
            with_sample = [_timed(lambda r=stored: rule_count(tenant=tenant, rule=r))
                           for _ in range(max(3, samples))]
            text, params = counting.where(where)
            by_hand = [_timed(lambda t=text, p=params: _count(
                f"SELECT count(*) FROM people_contact c WHERE {counting.population()} AND ({t})",
                [info["tenant_db"], *p])) for _ in range(max(3, samples))]
            saved_ms, unsaved_ms, sample_ms, hand_ms = (
                statistics.median(v) * 1000 for v in (saved, unsaved, with_sample, by_hand))
            rule_ratios.append(unsaved_ms / hand_ms)
            print(f"  {name:<28} {saved_ms:7.2f} ms | {unsaved_ms:8.1f} ms "
                  f"({sample_ms:8.1f} ms) | {hand_ms:8.1f} ms  ({unsaved_ms / hand_ms:4.2f} x)")
        print(f"  unsaved rule / hand-written: worst {max(rule_ratios):.2f} x, "
              f"{sum(r <= 1.5 for r in rule_ratios)} of {len(rule_ratios)} within 1.5 x")

        # 5. One contact, the background path after a committed change.
        pool = list(Contact.objects.filter(tenant=tenant).order_by("?")
                    .values_list("pk", flat=True)[:samples * 100])
        timings = []
        cities = ["dubai", "cairo", "doha"]
        for index, contact_id in enumerate(pool):
            contact = Contact.objects.get(pk=contact_id)
            contact_update(tenant=tenant, actor=actor, contact=contact,
                           data={"city": cities[index % 3] if contact.city != cities[index % 3]
                                 else "riyadh"})
            activity = Activity.objects.filter(tenant=tenant, contact_id=contact_id,
                                               type="CONTACT_UPDATED").latest("occurred_at")
            begin = time.perf_counter()
            segments_reevaluate_contact(tenant=tenant, contact_id=contact_id,
                                        kinds=activity_kinds(activity))
            timings.append(time.perf_counter() - begin)
        every = []
        for contact_id in pool[:samples * 20]:
            begin = time.perf_counter()
            segments_reevaluate_contact(tenant=tenant, contact_id=contact_id, kinds=None)
            every.append(time.perf_counter() - begin)
        print(f"\none contact after a committed city change ({len(timings)} contacts): "
              f"p50 {_pct(timings, 0.5):.1f} ms, p95 {_pct(timings, 0.95):.1f} ms  "
              f"(target p95 ≤ 50 ms)")
        print(f"one contact against all 20 segments ({len(every)} contacts): "
              f"p50 {_pct(every, 0.5):.1f} ms, p95 {_pct(every, 0.95):.1f} ms")


def _timed(func: Any) -> float:
    begin = time.perf_counter()
    func()
    return time.perf_counter() - begin


def _count(sql: str, params: list[Any]) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql.replace("%", "%%").replace("%%s", "%s"), params)
        return int(cursor.fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the organization an earlier run seeded with as many "
                             "contacts (PostgreSQL)")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of each segment's refresh statement")
    args = parser.parse_args()
    if args.database_url:
        benchdb.ensure_database(args.database_url)
    with tempfile.TemporaryDirectory() as data_dir:
        setup(args.database_url, data_dir)
        run(args.contacts, args.samples, args.reuse, args.explain)


if __name__ == "__main__":
    main()
