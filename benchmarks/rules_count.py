"""W2 (rules): counting the members of a rule over 1M contacts and 5M activities, against a
hand-written SQL query for the same rule.

Seeds one organization on PostgreSQL with set-based SQL: `--contacts` contacts (default
1,000,000; 2% deleted) with JSON custom fields (a number, a choice, a multiple choice), a
lifecycle stage and a city; tags on about a third of them; marketing consent by email for
60%; five activities per contact over a year (5M). Then, for each of eleven representative
rules, times

- **ours**: `rule_contacts(tenant=…, rule=…).count()` — the whole path a live count takes:
  reading the field registry, validating and normalizing the rule, compiling it to one query,
  running it;
- **hand-written**: one `SELECT count(*)` written by hand for the same rule, the way one
  would write it without the rule language.

Each figure is the median of `--repeat` runs (default 5) after one warm-up. Prints both, the
ratio, and whether the counts agree.

    uv run python benchmarks/rules_count.py --database-url postgres://tend@127.0.0.1:5432/bench_rules

The database is created when missing and dropped at the end when the script created it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

from benchdb import close_and_drop, ensure_database, setup

TYPES = ["EMAIL_OPENED", "TICKET_PURCHASED", "EVENT_ATTENDED", "DONATION_RECEIVED",
         "PAGE_VIEWED", "FORM_SUBMITTED", "CALL_LOGGED", "LESSON_COMPLETED"]
CITIES = ["Dubai", "Muscat", "Doha", "Riyadh", "Cairo", "Amman", "Beirut", "Manama"]


def _execute(sql: str, params: list[Any] | tuple[Any, ...] = ()) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _pick(expr: str, values: list[str]) -> str:
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE mod({expr}, {len(values)}) {whens} END)"


def _insert_all(model: Any, values: dict[str, str], source: str,
                params: list[Any]) -> None:
    """INSERT … SELECT filling every NOT NULL column (defaults for those not in `values`)."""
    columns, exprs = [], []
    for field in model._meta.concrete_fields:
        if field.column in values:
            columns.append(field.column)
            exprs.append(values[field.column])
        elif not field.null:
            columns.append(field.column)
            kind = field.get_internal_type()
            exprs.append("false" if kind == "BooleanField" else "'{}'" if kind == "JSONField"
                         else "0" if "Integer" in kind else "''")
    _execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
             f"SELECT {', '.join(exprs)} {source}", params)


def seed(tenant: Any, contacts: int) -> dict[str, str]:
    from django.db import connection

    from tend.core.actors import Actor
    from tend.core.services.customfields import customfield_create
    from tend.core.services.tags import tag_create
    from tend.people.models import Activity, Consent, Contact, ContactTag

    actor = Actor.system()
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="handicap",
                       label={"en": "Handicap"}, field_type="number")
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="tier",
                       label={"en": "Tier"}, field_type="choice",
                       choices=[{"value": v, "label": {"en": v}} for v in
                                ("bronze", "silver", "gold")])
    customfield_create(tenant=tenant, actor=actor, entity_type="contact", key="sports",
                       label={"en": "Sports"}, field_type="multi_choice",
                       choices=[{"value": v, "label": {"en": v}} for v in
                                ("golf", "tennis", "swim", "padel")])
    tags = {name: tag_create(tenant=tenant, actor=actor, name=name)
            for name in ("Alumni", "Board", "Donor")}
    tenant_db = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    n = "s.n"
    sports = ("(CASE mod(s.n, 5) WHEN 0 THEN '[\"golf\"]' WHEN 1 THEN '[\"golf\", \"tennis\"]' "
              "WHEN 2 THEN '[\"swim\"]' WHEN 3 THEN '[]' ELSE '[\"padel\", \"tennis\"]' END)"
              "::jsonb")
    _insert_all(Contact, {
        "id": "gen_random_uuid()", "tenant_id": "%s",
        "created_at": f"now() - make_interval(days => mod({n}, 700))", "updated_at": "now()",
        "first_name": f"'P' || {n}", "last_name": "'Bench'",
        "display_name": f"'Person ' || {n}", "city": _pick(n, CITIES),
        "status": f"(CASE WHEN mod({n}, 50) = 0 THEN 'DELETED' WHEN mod({n}, 20) = 0 "
                  f"THEN 'INACTIVE' ELSE 'ACTIVE' END)",
        "deleted_at": f"(CASE WHEN mod({n}, 50) = 0 THEN now() END)",
        "lifecycle_stage": _pick(f"{n} / 7", ["LEAD", "CUSTOMER", "MEMBER", "ADVOCATE",
                                              "CHURNED", "SUBSCRIBER"]),
        "custom": f"jsonb_build_object('handicap', mod({n}, 37), 'tier', "
                  f"{_pick(f'{n} / 3', ['bronze', 'silver', 'gold'])}, 'sports', {sports})",
        "primary_email": f"'p' || {n} || '@bench.example'",
        "last_activity_at": f"now() - make_interval(days => mod({n} * 13, 365))",
    }, f"FROM generate_series(1, {contacts}) AS s(n)", [tenant_db])
    number = "abs(hashtext(c.id::text))"
    _insert_all(Activity, {
        "id": "gen_random_uuid()", "tenant_id": "c.tenant_id", "created_at": "now()",
        "updated_at": "now()", "contact_id": "c.id",
        "type": _pick(f"{number} + mod(g.n, 3)", TYPES),
        "category": _pick(f"{number} / 11 + g.n", ["EVENTS", "MARKETING", "SALES"]),
        "title": "'Benchmark'", "source": "'bench'",
        "occurred_at": f"now() - make_interval(days => mod({number} + g.n * 7, 365))",
    }, "FROM people_contact c CROSS JOIN generate_series(1, 5) AS g(n) "
       "WHERE c.tenant_id = %s", [tenant_db])
    for index, tag in enumerate(tags.values()):
        tag_db = ContactTag._meta.get_field("tag").get_db_prep_value(tag.pk, connection)
        _insert_all(ContactTag, {
            "id": "gen_random_uuid()", "tenant_id": "c.tenant_id", "created_at": "now()",
            "updated_at": "now()", "contact_id": "c.id", "tag_id": "%s",
        }, f"FROM people_contact c WHERE c.tenant_id = %s AND mod({number}, {4 + index * 3}) = 0",
            [tag_db, tenant_db])
    _insert_all(Consent, {
        "id": "gen_random_uuid()", "tenant_id": "c.tenant_id", "created_at": "now()",
        "updated_at": "now()", "contact_id": "c.id", "channel": "'EMAIL'",
        "purpose": "'MARKETING'", "changed_at": "now()",
        "status": f"(CASE WHEN mod({number}, 5) = 0 THEN 'REVOKED' ELSE 'GRANTED' END)",
    }, f"FROM people_contact c WHERE c.tenant_id = %s AND mod({number}, 10) < 6", [tenant_db])
    _execute("ANALYZE")
    return {name: str(tag.pk) for name, tag in tags.items()}


LIVE = ("c.tenant_id = %(t)s AND c.status IN ('ACTIVE', 'INACTIVE') AND c.deleted_at IS NULL "
        "AND c.erased_at IS NULL")


def cases(tags: dict[str, str]) -> list[tuple[str, dict[str, Any], str]]:
    """(name, rule, hand-written WHERE on `people_contact c` after the live filter)."""

    def leaf(field: str, operator: str, value: Any = None) -> dict[str, Any]:
        node: dict[str, Any] = {"field": field, "operator": operator}
        if value is not None:
            node["value"] = value
        return node

    def rule(*nodes: Any, combinator: str = "and") -> dict[str, Any]:
        return {"combinator": combinator, "rules": list(nodes)}

    alumni, board, donor = tags["Alumni"], tags["Board"], tags["Donor"]
    act = ("SELECT 1 FROM people_activity a WHERE a.tenant_id = %(t)s AND a.contact_id = c.id "
           "AND a.type = ")
    return [
        ("city is Dubai", rule(leaf("city", "equals", "dubai")), "lower(c.city) = 'dubai'"),
        ("JSON number: handicap < 10", rule(leaf("custom.handicap", "lessThan", 10)),
         "(c.custom ->> 'handicap')::float < 10"),
        ("JSON choice: tier is gold", rule(leaf("custom.tier", "equals", "gold")),
         "c.custom ->> 'tier' = 'gold'"),
        ("JSON list: sports has golf or padel",
         rule(leaf("custom.sports", "hasAny", ["golf", "padel"])),
         "c.custom -> 'sports' ?| array['golf', 'padel']"),
        ("tag Alumni", rule(leaf("tags", "hasAny", [alumni])),
         f"EXISTS (SELECT 1 FROM people_contacttag x WHERE x.tenant_id = %(t)s "
         f"AND x.contact_id = c.id AND x.tag_id = '{alumni}')"),
        ("tags Alumni and Board, not Donor",
         rule(leaf("tags", "hasAll", [alumni, board]), leaf("tags", "hasNone", [donor])),
         f"EXISTS (SELECT 1 FROM people_contacttag x WHERE x.tenant_id = %(t)s "
         f"AND x.contact_id = c.id AND x.tag_id = '{alumni}') AND EXISTS (SELECT 1 FROM "
         f"people_contacttag x WHERE x.tenant_id = %(t)s AND x.contact_id = c.id AND "
         f"x.tag_id = '{board}') AND NOT EXISTS (SELECT 1 FROM people_contacttag x WHERE "
         f"x.tenant_id = %(t)s AND x.contact_id = c.id AND x.tag_id = '{donor}')"),
        ("email consent granted", rule(leaf("consent.email", "equals", "GRANTED")),
         "EXISTS (SELECT 1 FROM people_consent k WHERE k.tenant_id = %(t)s AND "
         "k.contact_id = c.id AND k.channel = 'EMAIL' AND k.purpose = 'MARKETING' AND "
         "k.status = 'GRANTED')"),
        ("≥ 2 tickets in 90 days",
         rule(leaf("activityCount", "greaterThanOrEqual",
                   {"type": "TICKET_PURCHASED", "days": 90, "count": 2})),
         "c.id IN (SELECT a.contact_id FROM people_activity a WHERE a.tenant_id = %(t)s AND "
         "a.type = 'TICKET_PURCHASED' AND a.occurred_at >= %(d90)s AND a.occurred_at <= "
         "%(now)s GROUP BY a.contact_id HAVING count(*) >= 2)"),
        ("last email open > 60 days ago",
         rule(leaf("lastActivity", "moreThanAgo", {"type": "EMAIL_OPENED", "amount": 60})),
         f"EXISTS ({act}'EMAIL_OPENED') AND NOT EXISTS ({act}'EMAIL_OPENED' "
         f"AND a.occurred_at >= %(d60)s)"),
        ("last activity within 30 days", rule(leaf("lastActivityAt", "withinLast", 30)),
         "c.last_activity_at >= %(d30)s AND c.last_activity_at <= %(now)s"),
        ("member, consent, event in 60 days, not Donor, or gold",
         rule(rule(leaf("lifecycleStage", "equals", "MEMBER"),
                   leaf("consent.email", "equals", "GRANTED"),
                   leaf("lastActivity", "withinLast", {"type": "EVENT_ATTENDED",
                                                        "amount": 60}),
                   leaf("tags", "hasNone", [donor])),
              leaf("custom.tier", "equals", "gold"), combinator="or"),
         "(c.lifecycle_stage = 'MEMBER' AND EXISTS (SELECT 1 FROM people_consent k WHERE "
         "k.tenant_id = %(t)s AND k.contact_id = c.id AND k.channel = 'EMAIL' AND "
         "k.purpose = 'MARKETING' AND k.status = 'GRANTED') AND EXISTS "
         f"({act}'EVENT_ATTENDED' AND a.occurred_at >= %(d60)s AND a.occurred_at <= %(now)s) "
         "AND NOT EXISTS (SELECT 1 FROM people_contacttag x WHERE x.tenant_id = %(t)s AND "
         f"x.contact_id = c.id AND x.tag_id = '{donor}')) OR c.custom ->> 'tier' = 'gold'"),
    ]


def median_ms(func: Any, repeat: int) -> tuple[float, Any]:
    result = func()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def run(contacts: int, repeat: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.rules import rule_contacts
    from tend.rules.scalar import day_start
    from tend.rules.services import rule_context

    slug = f"bench-rules-{int(time.time())}"
    with system_scope():
        tenant = tenant_create(name="Rules benchmark", slug=slug, actor=Actor.system())
    with tenant_scope(tenant):
        clock = time.perf_counter()
        tags = seed(tenant, contacts)
        print(f"seeded {contacts:,} contacts and {contacts * 5:,} activities in "
              f"{time.perf_counter() - clock:.0f} s")
        now = timezone.now()
        ctx = rule_context(tenant=tenant, now=now)
        params = {"t": str(tenant.pk), "now": now}
        for days in (30, 60, 90):
            params[f"d{days}"] = day_start(ctx.today - timedelta(days=days), ctx)
        print(f"{'rule':<58} {'ours':>9} {'by hand':>9} {'ratio':>6}  count")
        for name, rule, where in cases(tags):
            def ours(rule: dict[str, Any] = rule) -> int:
                return rule_contacts(tenant=tenant, rule=rule, now=now).count()

            def by_hand(where: str = where) -> int:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT count(*) FROM people_contact c WHERE {LIVE} "
                                   f"AND ({where})", params)
                    return int(cursor.fetchone()[0])

            ours_ms, ours_count = median_ms(ours, repeat)
            hand_ms, hand_count = median_ms(by_hand, repeat)
            agree = "" if ours_count == hand_count else f"  DIFFERS: by hand {hand_count:,}"
            print(f"{name:<58} {ours_ms:>7.0f}ms {hand_ms:>7.0f}ms {ours_ms / hand_ms:>5.2f}x "
                  f" {ours_count:,}{agree}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True,
                        help="a PostgreSQL database the script may create and migrate")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    created = ensure_database(args.database_url)
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            setup(args.database_url, data_dir)
            run(args.contacts, args.repeat)
    finally:
        if created:
            close_and_drop(args.database_url)


if __name__ == "__main__":
    main()
