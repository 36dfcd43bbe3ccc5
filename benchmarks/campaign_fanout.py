"""Campaign fan-out: a 100k-recipient campaign queued to the outbox, against the equivalent
raw `INSERT … SELECT` in the same run (target: ours at most twice the raw statement).

Seeds an organization with set-based SQL: N contacts (two thirds opted in to email, a tenth
with an Arabic language), an EMAIL identity each, and a static segment holding them all, plus
a small exclusion segment. Then, alternating, for each sample:

- **ours**: a new one-time email campaign (subject and body with contact variables, a
  default, the organization's name and a link rewritten for click tracking) is run by
  `campaign_run` — the run record, the audience (segments, exclusions, consent, address), one
  `INSERT … SELECT … ON CONFLICT DO NOTHING` per channel, the bookkeeping, the commit;
- **raw**: one hand-written `INSERT INTO messaging_message … SELECT … FROM people_contact`
  writing the same rows (same filters, same concatenated body and link, same dedupe keys,
  `ON CONFLICT DO NOTHING`), committed.

The messages are deleted (untimed) after each measurement. Then the same run is repeated to
show that a re-run queues nothing.

    uv run python benchmarks/campaign_fanout.py --database-url postgres://tend@127.0.0.1:5432/bench_campaigns
    uv run python benchmarks/campaign_fanout.py                      # SQLite in a temp directory
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import benchdb

BODY = ("Dear {{ contact.first_name|default:\"golfer\" }}, the spring open is on Saturday. "
        "Book at https://club.example/book — {{ organization.name }}")
SUBJECT = "Spring open, {{ contact.first_name }}"


_execute = benchdb.execute


def seed(tenant: Any, contacts: int) -> tuple[Any, Any]:
    """N contacts with an email identity, all in one list; every 50th also in an exclusion
    list. Returns (list, exclusion list)."""
    from django.db import connection

    from tend.core.actors import Actor
    from tend.marketing.models import SegmentMembership
    from tend.marketing.services.segments import segment_create
    from tend.people.models import Contact, IdentityAlias

    sql = benchdb.Sql(connection.vendor, escape=True)
    series, uuid, now = sql.series("s", contacts), sql.uuid(), sql.now()
    tenant_id = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    values = {
        "id": uuid, "tenant_id": "%s", "created_at": now, "updated_at": now,
        "first_name": "(CASE WHEN s.n %% 17 = 0 THEN '' ELSE 'P' || s.n END)",
        "last_name": "'Bench'", "display_name": "'Person ' || s.n",
        "primary_email": "'p' || s.n || '@bench.example'", "status": "'ACTIVE'",
        "language": "(CASE WHEN s.n %% 10 = 0 THEN 'ar' ELSE '' END)",
        "email_opt_in": "(s.n %% 3 <> 0)", "postal_code": "CAST(s.n AS text)",
    }
    columns, exprs = benchdb.column_exprs(Contact, values, sql)
    _execute(f"INSERT INTO people_contact ({', '.join(columns)}) "
             f"SELECT {', '.join(exprs)} FROM {series}", [tenant_id])
    alias_values = {"id": uuid, "tenant_id": "c.tenant_id", "created_at": now,
                    "updated_at": now, "contact_id": "c.id", "type": "'EMAIL'",
                    "value": "c.primary_email", "is_primary": sql.true()}
    a_columns, a_exprs = benchdb.column_exprs(IdentityAlias, alias_values, sql)
    _execute(f"INSERT INTO people_identityalias ({', '.join(a_columns)}) "
             f"SELECT {', '.join(a_exprs)} FROM people_contact c WHERE c.tenant_id = %s",
             [tenant_id])
    actor = Actor.system()
    members = segment_create(tenant=tenant, actor=actor, data={"name": "Everyone"})
    excluded = segment_create(tenant=tenant, actor=actor, data={"name": "Do not mail"})
    for segment, where in ((members, ""), (excluded, " AND CAST(c.postal_code AS integer) "
                                                     "%% 50 = 0")):
        segment_id = SegmentMembership._meta.get_field("segment").get_db_prep_value(
            segment.pk, connection)
        _execute(f"INSERT INTO marketing_segmentmembership (id, tenant_id, created_at, "
                 f"updated_at, segment_id, contact_id, matched_at, source) "
                 f"SELECT {uuid}, c.tenant_id, {now}, {now}, %s, c.id, {now}, 'MANUAL' "
                 f"FROM people_contact c WHERE c.tenant_id = %s{where}",
                 [segment_id, tenant_id])
    _execute("ANALYZE")
    return members, excluded


def raw_statement(tenant: Any, account: Any, members: Any, excluded: Any, key: str,
                  origin: str) -> tuple[str, list[Any]]:
    """The hand-written equivalent of the fan-out's statement."""
    from django.db import connection

    from tend.messaging.models import Message

    pg = connection.vendor == "postgresql"
    db = connection.ops
    from django.utils import timezone

    now = db.adapt_datetimefield_value(timezone.now())
    hex_id = "replace(CAST(c.id AS text), '-', '')" if pg else "c.id"
    name = ("(CASE WHEN TRIM(COALESCE(c.first_name, '')) = '' THEN 'golfer' "
            "ELSE c.first_name END)")
    values = {
        "id": "gen_random_uuid()" if pg else "lower(hex(randomblob(16)))",
        "tenant_id": "c.tenant_id", "created_at": "%(now)s", "updated_at": "%(now)s",
        "contact_id": "c.id", "account_id": "%(account)s", "channel": "'EMAIL'",
        "direction": "'OUTBOUND'", "purpose": "'MARKETING'", "status": "'QUEUED'",
        "subject": "'Spring open, ' || COALESCE(c.first_name, '')",
        "body": (f"'Dear ' || {name} || ', the spring open is on Saturday. Book at ' || "
                 f"%(link)s || {hex_id} || '/l/0/ — ' || %(org)s"),
        "dedupe_key": f"%(key)s || {hex_id} || ':EMAIL'",
        "source": "'campaign'", "metadata": "%(meta)s", "queued_at": "%(now)s",
        "next_attempt_at": "%(now)s", "attempts": "0",
        "media": "'[]'", "template_variables": "'{}'",
    }
    columns, exprs = benchdb.column_exprs(Message, values, benchdb.Sql(connection.vendor))
    params = {"now": now, "account": account.pk if pg else account.pk.hex,
              "link": f"{origin}/t/raw/EMAIL/1/", "org": tenant.name, "key": key,
              "meta": '{"campaign": "raw", "run": "1"}',
              "tenant": tenant.pk if pg else tenant.pk.hex,
              "members": members.pk if pg else members.pk.hex,
              "excluded": excluded.pk if pg else excluded.pk.hex}
    if pg:
        params["meta"] = params["meta"]
        exprs[columns.index("metadata")] = "CAST(%(meta)s AS jsonb)"
    sql = (f"INSERT INTO messaging_message ({', '.join(columns)}) "
           f"SELECT {', '.join(exprs)} FROM people_contact c "
           f"WHERE c.tenant_id = %(tenant)s AND c.deleted_at IS NULL AND c.erased_at IS NULL "
           f"AND c.status <> 'MERGED' AND c.email_opt_in "
           f"AND EXISTS (SELECT 1 FROM marketing_segmentmembership m WHERE m.tenant_id = "
           f"%(tenant)s AND m.segment_id = %(members)s AND m.contact_id = c.id) "
           f"AND NOT EXISTS (SELECT 1 FROM marketing_segmentmembership m WHERE m.tenant_id = "
           f"%(tenant)s AND m.segment_id = %(excluded)s AND m.contact_id = c.id) "
           f"AND EXISTS (SELECT 1 FROM people_identityalias a WHERE a.tenant_id = %(tenant)s "
           f"AND a.contact_id = c.id AND a.type = 'EMAIL') "
           f"ON CONFLICT DO NOTHING")
    return sql, params  # type: ignore[return-value]


def run(contacts: int, samples: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.marketing.models import Campaign
    from tend.marketing.services import campaigns as svc
    from tend.messaging.models import ChannelAccount, Message

    actor = Actor.system()
    stamp = int(time.time())
    with system_scope():
        tenant = tenant_create(name="Bench Golf", slug=f"bench-campaign-{stamp}", actor=actor)
    origin = "https://crm.example"
    with tenant_scope(tenant):
        clock = time.perf_counter()
        with transaction.atomic():
            members, excluded = seed(tenant, contacts)
        print(f"seeded {contacts:,} contacts in {time.perf_counter() - clock:.1f}s "
              f"({connection.vendor})")
        tenant_db = Message._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
        account = ChannelAccount.objects.create(tenant=tenant, kind="EMAIL", name="Mail",
                                                status="ACTIVE", is_default=True)
        ours: list[float] = []
        raw: list[float] = []
        queued = inserted = 0
        last: Campaign | None = None
        for sample in range(samples):
            campaign = svc.campaign_create(tenant=tenant, actor=actor, data={
                "name": f"Spring open {sample}", "segment_ids": [str(members.pk)],
                "exclude_segment_ids": [str(excluded.pk)],
                "channels": [{"channel": "EMAIL", "subject": SUBJECT, "body": BODY}]})
            Campaign.objects.filter(pk=campaign.pk).update(status="SCHEDULED",
                                                           next_run_at=timezone.now())
            clock = time.perf_counter()
            run_ = svc.campaign_run(tenant=tenant, campaign_id=campaign.pk)
            ours.append(time.perf_counter() - clock)
            assert run_ is not None
            queued = run_.target_count
            last = campaign
            if sample < samples - 1:
                _execute("DELETE FROM messaging_message WHERE tenant_id = %s", [tenant_db])
            sql, params = raw_statement(tenant, account, members, excluded,
                                        f"raw:{sample}:", origin)
            clock = time.perf_counter()
            with transaction.atomic():
                inserted = _execute(sql, params)
            raw.append(time.perf_counter() - clock)
            _execute("DELETE FROM messaging_message WHERE tenant_id = %s "
                     "AND dedupe_key LIKE %s", [tenant_db, "raw:%"])
            if connection.vendor == "postgresql":
                _execute("ANALYZE messaging_message")
        assert queued == inserted, (queued, inserted)
        # A re-run of the last run queues nothing (the dedupe keys are taken).
        assert last is not None
        Campaign.objects.filter(pk=last.pk).update(run_count=0, next_run_at=timezone.now(),
                                                   status="ACTIVE")
        last.runs.all().delete()
        clock = time.perf_counter()
        again = svc.campaign_run(tenant=tenant, campaign_id=last.pk)
        rerun = time.perf_counter() - clock
    ours_m, raw_m = statistics.median(ours), statistics.median(raw)
    print(f"recipients queued per run: {queued:,}")
    print(f"ours (campaign_run):   median {ours_m * 1000:8.0f} ms   runs "
          + ", ".join(f"{t * 1000:.0f}" for t in ours))
    print(f"raw INSERT … SELECT:   median {raw_m * 1000:8.0f} ms   runs "
          + ", ".join(f"{t * 1000:.0f}" for t in raw))
    print(f"ratio ours / raw: {ours_m / raw_m:.2f} (target ≤ 2.00)")
    print(f"re-run of the same run: {again.target_count if again else 0} new messages "
          f"in {rerun * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--contacts", type=int, default=153_000)
    parser.add_argument("--samples", type=int, default=3)
    args = parser.parse_args()
    if args.database_url:
        benchdb.ensure_database(args.database_url)
    with tempfile.TemporaryDirectory() as data_dir:
        benchdb.setup(args.database_url, data_dir, TEND_PUBLIC_URL="https://crm.example",
                      TEND_TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend")
        run(args.contacts, args.samples)


if __name__ == "__main__":
    main()
