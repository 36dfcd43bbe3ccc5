"""Activity ingestion throughput: `activities_ingest` on 1,000-item batches, against a plain
`bulk_create` of the same activity rows in the same run.

Three batches go through the real pipeline (validation, identity resolution, idempotency
check, contact metrics, ingestion log, audit entries):

- **new people**: every item names a person not seen before (a contact is created);
- **known people**: the same people again, new events (the common case);
- **replay**: the known-people batch delivered again (all duplicates).

The baseline inserts the known-people batch's activity rows with one `bulk_create` in one
transaction (no resolution, no idempotency, no metrics, no log). Prints items/s and ratios.

    uv run python benchmarks/ingest.py                       # SQLite in a temporary directory
    uv run python benchmarks/ingest.py --database-url postgres://tend@127.0.0.1:5432/bench_ingest
      (an empty database the script may migrate; it is left as it was found only if empty)
"""

from __future__ import annotations

import argparse
import tempfile
import time

from benchdb import setup


def batch(start: int, size: int, prefix: str) -> list[dict[str, object]]:
    return [{
        "identifiers": [{"type": "EMAIL", "value": f"person{n}@bench.example"}],
        "contact": {"first_name": f"Person {n}"},
        "type": "TICKET_PURCHASED", "category": "EVENTS", "title": f"Ticket {n}",
        "metadata": {"order": n}, "source": "bench", "source_event_id": f"{prefix}-{n}",
    } for n in range(start, start + size)]


def run(size: int, rounds: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.people.models import Activity, Contact
    from tend.people.services.ingestion import activities_ingest

    actor = Actor.system()
    stamp = int(time.time())
    with system_scope():
        tenant = tenant_create(name="Bench", slug=f"bench-{stamp}", actor=actor)
    figures: dict[str, list[float]] = {"new": [], "known": [], "replay": [], "baseline": []}
    with tenant_scope(tenant):
        for r in range(rounds):
            start = r * size
            new = batch(start, size, f"new{r}")
            known = batch(start, size, f"known{r}")

            def timed(items: list[dict[str, object]]) -> float:
                begin = time.perf_counter()
                results = activities_ingest(tenant=tenant, actor=actor, items=items)
                elapsed = time.perf_counter() - begin
                assert all(x.status in ("created", "duplicate") for x in results), results[:3]
                return elapsed

            figures["new"].append(timed(new))
            figures["known"].append(timed(known))
            figures["replay"].append(timed(known))
            contact_ids = dict(Contact.objects.filter(
                tenant=tenant, primary_email__startswith="person").values_list(
                "primary_email", "id"))
            rows = [Activity(
                tenant=tenant, contact_id=contact_ids[f"person{n}@bench.example"],
                type="TICKET_PURCHASED", category="EVENTS", title=f"Ticket {n}",
                metadata={"order": n}, source="bench-baseline",
                source_event_id=f"base{r}-{n}", occurred_at=timezone.now(),
                processed_at=timezone.now(), actor_label="system",
            ) for n in range(start, start + size)]
            begin = time.perf_counter()
            with transaction.atomic():
                Activity.objects.bulk_create(rows, batch_size=500)
            figures["baseline"].append(time.perf_counter() - begin)
    best = {name: min(values) for name, values in figures.items()}
    rate = {name: size / seconds for name, seconds in best.items()}
    from django.db import connection

    print(f"database: {connection.vendor}; batch of {size}, best of {rounds}")
    for name in ("new", "known", "replay", "baseline"):
        ratio = rate[name] / rate["baseline"]
        print(f"{name:>9}: {rate[name]:>9,.0f} items/s  ({best[name] * 1000:7.1f} ms)  "
              f"{ratio:6.3f} x baseline")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        setup(args.database_url, data_dir)
        run(args.size, args.rounds)


if __name__ == "__main__":
    main()
