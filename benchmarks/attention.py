"""W8: the attention list of a unit with 100,000 members, on PostgreSQL.

Seeds an organization with set-based SQL: a country with two regions of four cities each; the
measured region holds `--members` people (spread over its cities), the other region
`--others` more; every person has a care summary (practice regularity, last mentor contact,
lessons and when the next is allowed) spread so that about half of them need attention. Then,
in the same run and alternately (median of `--samples` after a warm-up):

1. **page** — what the attention page and API read: `Attention.page(unit=region)` (the rule
   language's query for the organization's attention rule, limited to the region's subtree:
   its first 100 people by name and which clauses fired for them, from the page statement
   kept since the first page, run raw with fresh parameters);
   against the same first page written by hand in SQL (one query, the clause flags computed in
   the select list);
2. **count** — the page's total (`.count()` of the same queryset) against a hand-written
   `count(*)`;
3. **scoped** — the page for a unit-scoped secretary of the region (no unit filter; the
   visibility limit does the narrowing), against the hand-written page; and the page for a
   staff member without a scope (the API's usual caller: the statement checks that the
   viewer still has no scope);
4. **statement only** — our page's SQL statement, compiled once and run raw, against the
   hand-written page: what is left of the difference once the Python path (parameters,
   building the rows and the reasons) is set aside.

Both sides must return the same people (checked). Targets: page ≤ 100 ms, ours at most
1.5 times by hand.

    uv run python benchmarks/attention.py --database-url postgres://tend@127.0.0.1:5432/bench_att
    uv run python benchmarks/attention.py --database-url … --members 20000 --others 20000

The database is created when missing; each run makes a new organization (`--reuse` takes the
newest earlier one with the same sizes).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import benchdb

PAGE = 100


def _execute(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> int:
    # Modulo signs are doubled so the drivers do not read them as placeholders.
    return benchdb.execute(sql.replace("%", "%%").replace("%%s", "%s"), list(params))


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql.replace("%", "%%").replace("%%s", "%s"), params)
        return list(cursor.fetchall())


def _raw(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """A statement Django compiled, run as Django runs it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _insert_select(model: Any, values: dict[str, str], source: str,
                   params: list[Any]) -> int:
    """`INSERT INTO <model's table> SELECT …` with `values` (column → SQL expression) and
    every other column at its empty value."""
    columns, exprs = [], []
    for field in model._meta.concrete_fields:
        if field.column in values:
            columns.append(field.column)
            exprs.append(values[field.column])
        elif field.null:
            continue
        else:
            columns.append(field.column)
            kind = field.get_internal_type()
            exprs.append("false" if kind == "BooleanField" else "'{}'" if kind == "JSONField"
                         else "0" if "Integer" in kind else "now()" if "DateTime" in kind
                         else "current_date" if kind == "DateField" else "''")
    return _execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
                    f"SELECT {', '.join(exprs)} FROM {source}", params)


def _uuid(prefix: str, number: str) -> str:
    """Ids growing with `number`, as the product's time-ordered (v7) ids do."""
    return f"('{prefix}-0000-7000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid"


def seed(tenant: Any, members: int, others: int, stamp: int) -> dict[str, Any]:
    from django.db import connection

    from tend.community.models import CareSummary, UnitMembership
    from tend.community.services.care_units import unit_create
    from tend.core.actors import Actor
    from tend.people.models import Contact

    actor = Actor.system()
    country = unit_create(tenant=tenant, actor=actor, name="Oman", kind="country")
    regions = [unit_create(tenant=tenant, actor=actor, name=name, kind="region", parent=country)
               for name in ("Muscat", "Dhofar")]
    cities = [[unit_create(tenant=tenant, actor=actor, name=f"{r.name} {i}", kind="city",
                           parent=r) for i in range(1, 5)] for r in regions]
    tenant_id = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    total = members + others
    clock = time.perf_counter()
    prefix = f"{stamp & 0xFFFFFFF:08x}"
    _insert_select(Contact, {
        "id": _uuid(prefix, "s.n"), "tenant_id": "%s",
        "created_at": "now() - make_interval(days => (s.n % 700)::int)", "updated_at": "now()",
        "first_name": "'P' || s.n", "last_name": "'Care'",
        "display_name": "'Person ' || lpad(((s.n * 7919) % 1000003)::text, 7, '0')",
        "postal_code": "s.n::text", "status": "'ACTIVE'",
    }, f"generate_series(1, {total}) AS s(n)", [tenant_id])
    # Members: contact n ≤ members in the measured region's cities, the rest in the other's.
    unit_ids = [[u.pk for u in row] for row in cities]
    city_case = ("(CASE WHEN c.postal_code::int <= %s THEN (ARRAY[%s, %s, %s, %s]::uuid[])"
                 "[1 + c.postal_code::int %% 4] ELSE (ARRAY[%s, %s, %s, %s]::uuid[])"
                 "[1 + c.postal_code::int %% 4] END)")
    _insert_select(UnitMembership, {
        "id": "gen_random_uuid()", "tenant_id": "c.tenant_id", "created_at": "now()",
        "updated_at": "now()", "contact_id": "c.id", "unit_id": city_case.replace("%%", "%"),
        "role": "'MEMBER'", "since": "current_date - 400", "scope_staff": "false",
    }, "people_contact c WHERE c.tenant_id = %s",
        [members, *unit_ids[0], *unit_ids[1], tenant_id])
    n = "c.postal_code::int"
    _insert_select(CareSummary, {
        "id": "gen_random_uuid()", "tenant_id": "c.tenant_id", "created_at": "now()",
        "updated_at": "now()", "contact_id": "c.id",
        "regularity": (f"(ARRAY['NONE', 'IRREGULAR', 'WEEKLY', 'WEEKLY', 'DAILY', 'DAILY', "
                       f"'DAILY', 'TWICE_DAILY', 'DAILY', ''])[1 + ({n} * 3) % 10]"),
        "mentor_contact_at": (f"(CASE WHEN {n} % 3 = 0 THEN NULL ELSE now() - "
                              f"make_interval(days => (({n} * 7) % 45)::int) END)"),
        "lessons_received": f"{n} % 5",
        "last_lesson_at": (f"(CASE WHEN {n} % 5 = 0 THEN NULL ELSE now() - "
                           f"make_interval(days => (({n} * 11) % 200)::int) END)"),
        "next_lesson_at": (f"(CASE WHEN {n} % 5 IN (0, 4) THEN NULL ELSE now() - "
                           f"make_interval(days => (({n} * 11) % 200)::int - 30) END)"),
    }, "people_contact c WHERE c.tenant_id = %s", [tenant_id])
    _execute("ANALYZE")
    return {"seconds": time.perf_counter() - clock, "region": regions[0],
            "tenant_db": tenant_id}


def _reuse(members: int, others: int) -> Any:
    from tend.core.models import Tenant
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.people.models import Contact

    with system_scope():
        candidates = list(Tenant.objects.filter(slug__startswith="bench-att-")
                          .order_by("-created_at"))
    for tenant in candidates:
        with tenant_scope(tenant):
            if Contact.objects.filter(tenant=tenant, last_name="Care").count() == (
                    members + others):
                return tenant
    return None


# --- the hand-written twin --------------------------------------------------------------------


def _bounds(tenant: Any, now: datetime) -> dict[str, datetime]:
    """The rule's cut-offs, worked out by hand: "more than D days since the last mentor
    contact" is before midnight D days ago (organization's time zone); "more than M months
    since the last lesson" is before midnight of the day after M+1 months ago."""
    from tend.community.services.care_attention import attention_settings

    limits = attention_settings(tenant)
    zone = ZoneInfo(tenant.time_zone or "UTC")
    today = now.astimezone(zone).date()

    def midnight(day: date) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)

    months = limits["months_since_lesson"] + 1
    index = today.year * 12 + today.month - 1 - months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            back = date(year, month + 1, min(today.day, last))
            break
        except ValueError:
            continue
    return {"contact": midnight(today - timedelta(days=limits["days_since_contact"])),
            "lesson": midnight(back + timedelta(days=1)), "now": now, "today": today}


HAND_FROM = """
FROM people_contact c JOIN community_caresummary s
  ON s.contact_id = c.id AND s.tenant_id = c.tenant_id
WHERE c.tenant_id = %s AND c.status IN ('ACTIVE', 'INACTIVE') AND c.deleted_at IS NULL
  AND c.erased_at IS NULL
  AND EXISTS (SELECT 1 FROM community_unitmembership m JOIN community_unit u ON u.id = m.unit_id
              WHERE m.tenant_id = %s AND m.contact_id = c.id
                AND (m.until IS NULL OR m.until > %s) AND u.path LIKE %s)
  AND (s.mentor_contact_at < %s OR s.regularity IN ('NONE', 'IRREGULAR')
       OR (s.next_lesson_at <= %s AND s.last_lesson_at < %s))
"""


def hand_page(tenant_db: Any, region: Any, b: dict[str, Any]) -> list[tuple[Any, ...]]:
    return _rows(
        "SELECT c.id, c.display_name, s.mentor_contact_at < %s, "
        "s.regularity IN ('NONE', 'IRREGULAR'), "
        "(s.next_lesson_at <= %s AND s.last_lesson_at < %s) " + HAND_FROM
        + f"ORDER BY c.display_name, c.id LIMIT {PAGE}",
        [b["contact"], b["now"], b["lesson"], *_hand_params(tenant_db, region, b)])


def hand_count(tenant_db: Any, region: Any, b: dict[str, Any]) -> int:
    return int(_rows("SELECT count(*) " + HAND_FROM, _hand_params(tenant_db, region, b))[0][0])


def _hand_params(tenant_db: Any, region: Any, b: dict[str, Any]) -> list[Any]:
    return [tenant_db, tenant_db, b["today"], region.path + "%", b["contact"], b["now"],
            b["lesson"]]


# --- the run ------------------------------------------------------------------------------------


def _median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def _staff_actor(tenant: Any, stamp: int) -> Any:
    """A staff member without a scoping unit (no limit), as the API's usual caller."""
    from tend.core.actors import Actor
    from tend.core.models import Membership, Role, User

    user = User.objects.create_user(email=f"staff-{stamp}@bench.example", password=None)
    membership = Membership.objects.create(tenant=tenant, user=user,
                                           role=Role.objects.get(tenant=tenant, key="manager"))
    return Actor(kind="user", user=user, membership=membership,
                 permissions=membership.role.permission_set())


def _scoped_actor(tenant: Any, region: Any, stamp: int) -> Any:
    """A staff member whose own contact is the region's secretary, limited to it."""
    from tend.community.models import UnitMembership
    from tend.core.actors import Actor
    from tend.core.models import Membership, Role, User
    from tend.people.models import Contact, IdentityAlias

    user = User.objects.create_user(email=f"secretary-{stamp}@bench.example", password=None)
    membership = Membership.objects.create(tenant=tenant, user=user,
                                           role=Role.objects.get(tenant=tenant, key="manager"))
    own = Contact.objects.create(tenant=tenant, first_name="Sara", last_name="Secretary",
                                 display_name="Sara Secretary")
    IdentityAlias.objects.create(tenant=tenant, contact=own, type="AUTH_USER",
                                 value=str(user.pk))
    UnitMembership.objects.create(tenant=tenant, contact=own, unit=region, role="SECRETARY",
                                  scope_staff=True)
    return Actor(kind="user", user=user, membership=membership,
                 permissions=membership.role.permission_set())


def run(members: int, others: int, samples: int, reuse: bool, explain: bool,
        profile: int = 0) -> None:
    from django.db import connection

    from tend.community.models import Unit
    from tend.community.selectors.care_attention import Attention, attention_list
    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.people.models import Contact

    stamp = int(time.time())
    tenant = _reuse(members, others) if reuse else None
    if tenant is None:
        with system_scope():
            tenant = tenant_create(name="Bench care", slug=f"bench-att-{stamp}",
                                   actor=Actor.system())
    with tenant_scope(tenant):
        if Contact.objects.filter(tenant=tenant).exists():
            region = Unit.objects.get(tenant=tenant, name="Muscat")
            info = {"seconds": 0.0, "region": region,
                    "tenant_db": Contact._meta.get_field("tenant").get_db_prep_value(
                        tenant.pk, connection)}
        else:
            info = seed(tenant, members, others, stamp)
        region, tenant_db = info["region"], info["tenant_db"]
        secretary = _scoped_actor(tenant, region, stamp)
        staff = _staff_actor(tenant, stamp)
        print(f"database: {connection.vendor}; unit of {members:,} members, {others:,} "
              f"elsewhere (seeded in {info['seconds']:.1f} s)")
        now = datetime.now(tz=UTC)
        bounds = _bounds(tenant, now)

        def ours_page(actor: Any = None, unit: Any = region) -> list[Any]:
            # What the API does: the kept page statement (compiled at the first page).
            return Attention(tenant, now).page(unit=unit, actor=actor, limit=PAGE)

        def ours_count() -> int:
            return attention_list(tenant=tenant, unit=region, now=now).count()

        # Same people, same clauses, same total.
        mine = [(r.contact.pk, r.clauses) for r in ours_page()]
        theirs = [(row[0], [k for k, v in zip(("contact", "practice", "lesson"), row[2:],
                                              strict=True) if v]) for row in
                  hand_page(tenant_db, region, bounds)]
        assert mine == theirs, "the two pages differ"
        scoped = [(r.contact.pk, r.clauses) for r in ours_page(secretary, None)]
        assert scoped == mine, "the scoped page differs"
        total = ours_count()
        assert total == hand_count(tenant_db, region, bounds), "the two counts differ"
        print(f"{total:,} of {members:,} members need attention")
        if explain:
            qs = attention_list(tenant=tenant, unit=region, now=now)[:PAGE]
            print(qs.explain(analyze=True))
        if profile:
            _profile(ours_page, profile)
        # Our page's statement alone (compiled once), to tell the SQL from the fixed cost
        # of the Python path (the field registry, compiling, building the rows).
        from tend.community.selectors.care_attention_page import COLUMNS, flag_names

        page_sql, page_params = Attention(tenant, now).queryset(unit_path=region.path) \
            .values_list(*COLUMNS, *flag_names())[:PAGE].query.sql_with_params()
        cases = {
            "page (100 people + clauses)": (ours_page,
                                            lambda: hand_page(tenant_db, region, bounds)),
            "page, staff without a scope": (lambda: ours_page(staff),
                                            lambda: hand_page(tenant_db, region, bounds)),
            "count": (ours_count, lambda: hand_count(tenant_db, region, bounds)),
            "page, unit-scoped secretary": (lambda: ours_page(secretary, None),
                                            lambda: hand_page(tenant_db, region, bounds)),
            "page statement only (SQL)": (lambda: _raw(page_sql, list(page_params)),
                                          lambda: hand_page(tenant_db, region, bounds)),
        }
        print(f"{'case':<32} {'ours':>9} {'by hand':>9} {'ratio':>6}")
        for name, (ours, hand) in cases.items():
            ours(), hand()  # warm-up
            a: list[float] = []
            b: list[float] = []
            for _ in range(samples):
                begin = time.perf_counter()
                ours()
                a.append(time.perf_counter() - begin)
                begin = time.perf_counter()
                hand()
                b.append(time.perf_counter() - begin)
            ours_ms, hand_ms = _median_ms(a), _median_ms(b)
            print(f"{name:<32} {ours_ms:>7.1f}ms {hand_ms:>7.1f}ms {ours_ms / hand_ms:>6.2f}")


def _profile(page: Any, times: int) -> None:
    """Where the page's time goes: `times` pages under cProfile, by cumulative time."""
    import cProfile
    import pstats

    page()  # warm-up
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(times):
        page()
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL database (created when missing)")
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--others", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=7)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the newest organization an earlier run seeded with the "
                             "same sizes")
    parser.add_argument("--explain", action="store_true",
                        help="print EXPLAIN ANALYZE of our page query")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="profile N pages (cProfile, by cumulative time)")
    args = parser.parse_args()
    benchdb.ensure_database(args.database_url)
    with tempfile.TemporaryDirectory() as data_dir:
        benchdb.setup(args.database_url, data_dir)
        run(args.members, args.others, args.samples, args.reuse, args.explain,
            args.profile)


if __name__ == "__main__":
    main()
