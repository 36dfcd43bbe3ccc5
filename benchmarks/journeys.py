"""W4: the journey engine with a large enrollment table and a burst of timers due at once,
against a raw psycopg `SKIP LOCKED` loop doing the same claims in the same run.

Seeds (set-based SQL, untimed) C contacts (two thirds in Dubai) and J copies of a 5-step
journey — TRIGGER → WAIT 1 day → CONDITION (city is Dubai) → yes: SEND (email template) →
END, no: END — with every contact enrolled in each copy (C x J enrollments, all waiting at
the WAIT). Then, alternating, for each sample:

- **raw**: T of the waits are made due at one instant; a loop on a plain psycopg connection
  claims batches (`SELECT … FOR UPDATE SKIP LOCKED LIMIT b`, the engine's claim query) and
  moves each claimed enrollment on with one `UPDATE … WHERE id = ANY(…)` per batch, commits,
  until none is due: the floor of any engine built on this table;
- **ours**: the same T waits made due again; `run_due` (one batch per transaction, as the
  tick runs it) wakes the waits, evaluates the condition with the rule language (one query
  per group of enrollments on the step), queues the outbox messages of the SEND, writes the
  history rows and the new positions (a statement each per batch), until none is due.

Figures: steps/s (history rows written per second; target ≥ 2,000), timer lateness (commit
time of the batch that moved an enrollment minus the moment all T timers were due and
visible; target p95 ≤ 5 s) and the
ratio of our enrollments/s to the raw loop's (target ≥ 0.2). Between samples the moved
enrollments are put back at the WAIT (untimed).

With `--processes N` (PostgreSQL; a list such as `1,2` runs every count), N processes claim
from the same due set at once on each side (N tick workers with `TEND_JOURNEY_LANES=N`; N raw
loops); the time runs from the start to the last process's end.

    uv run python benchmarks/journeys.py --database-url postgres://tend@127.0.0.1:5432/bench_journeys
    uv run python benchmarks/journeys.py --contacts 20000 --journeys 5 --due 10000   # SQLite
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import timedelta
from typing import Any

import benchdb

STEPS = [
    {"key": "trigger", "type": "TRIGGER", "next": "wait"},
    {"key": "wait", "type": "WAIT", "config": {"duration": "1 day"}, "next": "dubai"},
    {"key": "dubai", "type": "CONDITION", "config": {
        "rules": [{"field": "city", "operator": "equals", "value": "Dubai"}],
        "combinator": "AND"}, "yes": "send", "no": "end"},
    {"key": "send", "type": "SEND", "config": {"channel": "EMAIL", "templateId": "offer"},
     "next": "end"},
    {"key": "end", "type": "END"},
]


_execute = benchdb.execute


def seed(tenant: Any, contacts: int, journeys: int) -> list[Any]:
    from django.db import connection, transaction

    from tend.core.actors import Actor
    from tend.marketing.models_journeys import JourneyEnrollment, JourneyStep
    from tend.marketing.services.journeys import journey_activate, journey_create
    from tend.messaging.services.templates import template_create, template_publish
    from tend.people.models import Contact

    sql = benchdb.Sql(connection.vendor, escape=True)
    series, uuid, now = sql.series("s", contacts), sql.uuid(), sql.now()
    db = connection.ops
    tenant_id = Contact._meta.get_field("tenant").get_db_prep_value(tenant.pk, connection)
    values = {"id": uuid, "tenant_id": "%s", "created_at": now, "updated_at": now,
              "first_name": "'P' || s.n", "last_name": "'Bench'",
              "display_name": "'Person ' || s.n", "primary_email": "'p' || s.n || '@b.example'",
              "status": "'ACTIVE'", "email_opt_in": sql.true(),
              "city": "(CASE WHEN s.n %% 3 = 0 THEN 'Doha' ELSE 'Dubai' END)"}
    columns, exprs = benchdb.column_exprs(Contact, values, sql)
    actor = Actor.system()
    with transaction.atomic():
        _execute(f"INSERT INTO people_contact ({', '.join(columns)}) "
                 f"SELECT {', '.join(exprs)} FROM {series}", [tenant_id])
        template = template_create(tenant=tenant, actor=actor, key="offer", channel="EMAIL",
                                   language="en", subject="Spring open",
                                   body="Dear {{ contact.first_name }}, book your tee time.")
        template_publish(tenant=tenant, actor=actor, template=template)
    made = []
    past = db.adapt_datetimefield_value(timezone_now() - timedelta(hours=1))
    later = db.adapt_datetimefield_value(timezone_now() + timedelta(days=1))
    for j in range(journeys):
        journey = journey_create(tenant=tenant, actor=actor,
                                 data={"name": f"Spring open {j + 1}", "steps": STEPS})
        journey_activate(tenant=tenant, actor=actor, journey=journey)
        wait = JourneyStep.objects.get(tenant=tenant, journey=journey, key="wait")
        meta = JourneyEnrollment._meta
        e_values = {
            "id": uuid, "tenant_id": "c.tenant_id", "created_at": now, "updated_at": now,
            "journey_id": "%s", "version": "1", "contact_id": "c.id",
            "current_step_id": "%s", "status": "'ACTIVE'", "waiting_until": "%s",
            "wait_started_at": "%s", "steps_taken": "2", "enrolled_at": "%s",
            "exit_reason": "''", "entry_key": "''", "trigger_data": "'{}'"}
        cols = [f.column for f in meta.concrete_fields]
        exprs_e = [e_values.get(c, "NULL") for c in cols]
        field = meta.get_field("journey")
        _execute(f"INSERT INTO {meta.db_table} ({', '.join(cols)}) "
                 f"SELECT {', '.join(exprs_e)} FROM people_contact c WHERE c.tenant_id = %s",
                 [field.get_db_prep_value(journey.pk, connection),
                  field.get_db_prep_value(wait.pk, connection), later, past, past, tenant_id])
        made.append(journey)
    _execute("ANALYZE")
    return made


def timezone_now() -> Any:
    from django.utils import timezone

    return timezone.now()


def make_due(tenant: Any, journeys: list[Any], due: int) -> Any:
    """Put back (untimed) the first `due` enrollments, round robin over the journeys, at the
    WAIT, due now; returns the due instant."""
    from django.db import transaction
    from django.db.models import Q

    from tend.marketing.models_journeys import (
        JourneyEnrollment,
        JourneyEnrollmentStep,
        JourneyStep,
    )
    from tend.messaging.models import Message

    now = timezone_now()
    with transaction.atomic():
        JourneyEnrollmentStep.objects.filter(tenant=tenant).delete()
        Message.objects.filter(tenant=tenant).delete()
        per = due // len(journeys)
        for journey in journeys:
            wait = JourneyStep.objects.get(tenant=tenant, journey=journey, key="wait")
            ids = list(JourneyEnrollment.objects.filter(tenant=tenant, journey=journey)
                       .order_by("id").values_list("pk", flat=True)[:per])
            # Only the rows an earlier sample moved need putting back far in the future.
            JourneyEnrollment.objects.filter(tenant=tenant, journey=journey).filter(
                Q(waiting_until__isnull=True) | Q(waiting_until__lt=now + timedelta(hours=1))
            ).exclude(pk__in=ids).update(status="ACTIVE", current_step=wait,
                                         waiting_until=now + timedelta(days=1),
                                         wait_started_at=now, completed_at=None)
            JourneyEnrollment.objects.filter(pk__in=ids).update(
                status="ACTIVE", current_step=wait, waiting_until=now + timedelta(hours=2),
                wait_started_at=now - timedelta(days=1), steps_taken=2, completed_at=None)
    _execute("ANALYZE")
    # The timers fall due now, after the preparation (which is not lateness): lateness counts
    # from the moment the last of them is due and visible (the UPDATE's commit), as no
    # engine can move a timer before its row says it is due.
    JourneyEnrollment.objects.filter(
        tenant=tenant, waiting_until__gte=now + timedelta(hours=1),
        waiting_until__lt=now + timedelta(hours=3)).update(waiting_until=timezone_now())
    return timezone_now()


def raw_loop(database_url: str | None, due_at: Any, batch: int) -> tuple[int, float, list[float]]:
    """The floor: claim and move on with plain SQL. Returns (enrollments, seconds,
    lateness per enrollment)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return raw_loop_sqlite(due_at, batch)
    import psycopg

    moved = 0
    lateness: list[float] = []
    started = time.perf_counter()
    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
        while True:
            with conn.transaction():
                rows = conn.execute(
                    "SELECT e.id FROM marketing_journeyenrollment e "
                    "JOIN marketing_journey j ON j.id = e.journey_id "
                    "WHERE e.status = 'ACTIVE' AND e.waiting_until <= now() "
                    "AND j.status = 'ACTIVE' ORDER BY e.waiting_until LIMIT %s "
                    "FOR UPDATE OF e SKIP LOCKED", [batch]).fetchall()
                if not rows:
                    break
                conn.execute(
                    "UPDATE marketing_journeyenrollment SET status = 'COMPLETED', "
                    "waiting_until = NULL, steps_taken = steps_taken + 3, updated_at = now() "
                    "WHERE id = ANY(%s)", [[r[0] for r in rows]])
            done = timezone_now()
            lateness += [(done - due_at).total_seconds()] * len(rows)
            moved += len(rows)
    return moved, time.perf_counter() - started, lateness


def raw_loop_sqlite(due_at: Any, batch: int) -> tuple[int, float, list[float]]:
    from django.db import connection, transaction

    moved = 0
    lateness: list[float] = []
    started = time.perf_counter()
    now = connection.ops.adapt_datetimefield_value(timezone_now())
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT e.id FROM marketing_journeyenrollment e JOIN marketing_journey j "
                "ON j.id = e.journey_id WHERE e.status = 'ACTIVE' AND e.waiting_until <= %s "
                "AND j.status = 'ACTIVE' ORDER BY e.waiting_until LIMIT %s", [now, batch])
            ids = [r[0] for r in cursor.fetchall()]
            if not ids:
                break
            cursor.execute(
                "UPDATE marketing_journeyenrollment SET status = 'COMPLETED', "
                "waiting_until = NULL, steps_taken = steps_taken + 3 WHERE id IN ("
                + ",".join(["%s"] * len(ids)) + ")", ids)
        done = timezone_now()
        lateness += [(done - due_at).total_seconds()] * len(ids)
        moved += len(ids)
    return moved, time.perf_counter() - started, lateness


def ours(due_at: Any, batch: int) -> tuple[int, int, float, list[float]]:
    """`run_due` one batch per call (each its own transaction, as the tick runs it).
    Returns (enrollments, steps, seconds, lateness per enrollment)."""
    from tend.marketing.services.journeys_engine import run_due

    moved = steps = 0
    lateness: list[float] = []
    started = time.perf_counter()
    while True:
        stats = run_due(batch=batch, max_batches=1)
        if not stats.claimed:
            break
        done = timezone_now()
        lateness += [(done - due_at).total_seconds()] * stats.claimed
        moved += stats.claimed
        steps += stats.steps
    return moved, steps, time.perf_counter() - started, lateness


def _raw_one(args: tuple[Any, ...]) -> tuple[int, int, float, list[float]]:
    database_url, due_at, batch = args
    from tend.core.tenancy import system_scope

    with system_scope():
        moved, _secs, lateness = raw_loop(database_url, due_at, batch)
    return moved, 0, time.perf_counter(), lateness


def _ours_one(args: tuple[Any, ...]) -> tuple[int, int, float, list[float]]:
    due_at, batch = args
    moved, steps, _secs, lateness = ours(due_at, batch)
    return moved, steps, time.perf_counter(), lateness


def in_processes(processes: int, work: Any, args: tuple[Any, ...]
                 ) -> tuple[int, int, float, list[float]]:
    """Run `work(args)` in `processes` forked processes at once (each with its own database
    connection, claiming from the same due set): (enrollments, steps, seconds from the start
    to the last one's end, lateness per enrollment)."""
    import multiprocessing

    from django.db import connections

    connections.close_all()  # the children open their own
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(abs, range(processes))  # the processes are up before the clock starts
        started = time.perf_counter()
        results = pool.map(work, [args] * processes)
    lateness = [x for r in results for x in r[3]]
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            max(r[2] for r in results) - started, lateness)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else (values or [0])[0]


def run(database_url: str | None, contacts: int, journeys: int, due: int, batch: int,
        samples: int, counts: tuple[int, ...] = (1,)) -> None:
    from django.db import connection

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.marketing.models_journeys import JourneyEnrollment

    with system_scope():
        tenant = tenant_create(name=f"Bench {time.time():.0f}", actor=Actor.system())
    with tenant_scope(tenant):
        t0 = time.perf_counter()
        made = seed(tenant, contacts, journeys)
        total = JourneyEnrollment.objects.filter(tenant=tenant).count()
        print(f"{connection.vendor}: {contacts:,} contacts, {journeys} journeys, "
              f"{total:,} enrollments seeded in {time.perf_counter() - t0:.0f} s; "
              f"{due:,} timers due at once, batches of {batch}")
    for sample, processes in [(s, p) for s in range(samples) for p in counts]:
        with tenant_scope(tenant):
            due_at = make_due(tenant, made, due)
        # The raw loop runs outside any scope, as the tick's claim does (RLS: system).
        if processes > 1:
            r_moved, _, r_secs, r_late = in_processes(processes, _raw_one,
                                                      (database_url, due_at, batch))
        else:
            with system_scope():
                r_moved, r_secs, r_late = raw_loop(database_url, due_at, batch)
        with tenant_scope(tenant):
            due_at = make_due(tenant, made, due)
        if processes > 1:
            o_moved, o_steps, o_secs, o_late = in_processes(processes, _ours_one,
                                                            (due_at, batch))
        else:
            o_moved, o_steps, o_secs, o_late = ours(due_at, batch)
        print(f"sample {sample + 1}, {processes} process(es) each side: raw {r_moved:,} "
              f"enrollments in {r_secs:.1f} s "
              f"({r_moved / r_secs:,.0f}/s, lateness p95 {p95(r_late):.1f} s) | ours "
              f"{o_moved:,} enrollments, {o_steps:,} steps in {o_secs:.1f} s "
              f"({o_steps / o_secs:,.0f} steps/s, {o_moved / o_secs:,.0f} enrollments/s, "
              f"lateness p95 {p95(o_late):.1f} s) | ratio ours/raw "
              f"{(o_moved / o_secs) / (r_moved / r_secs):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--journeys", type=int, default=10)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--processes", default="1",
                        help="processes claiming at once, on each side (PostgreSQL); a list "
                             "such as 1,2 runs each sample with each count")
    args = parser.parse_args()
    if args.database_url:
        benchdb.ensure_database(args.database_url)
    with tempfile.TemporaryDirectory() as data_dir:
        benchdb.setup(args.database_url, data_dir,
                      TEND_TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend")
        run(args.database_url, args.contacts, args.journeys, args.due, args.batch,
            args.samples, tuple(int(p) for p in args.processes.split(","))
            if args.database_url else (1,))


if __name__ == "__main__":
    main()
