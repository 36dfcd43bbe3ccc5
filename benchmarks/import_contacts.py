"""W1: contact import throughput, against COPY + INSERT … ON CONFLICT of the same file.

Generates a CSV of `--rows` rows (default 100,000) with 2% duplicate emails (an address seen
earlier in the file) and 5% bad rows (an address that is not one), a tenth of the rows naming
contacts that already exist, into an organization already holding `--existing` contacts
(default: as many as the rows). Then:

- **ours**: the real import (`contact_import_create` → `contact_import_configure` →
  `contact_import_run`: reading, per-row validation and normalization, identity matching,
  batches of 1,000 with the checkpoint, error file, activities, audit);
- **baseline** (PostgreSQL only): the same file with `COPY … FROM STDIN` into a temporary
  staging table, then one `INSERT … SELECT … ON CONFLICT (email) DO UPDATE` into a plain table
  keyed by email (no validation, no normalization, no identities, no activities).

Prints rows/s, the ratio, and the resident memory (RSS) sampled after every batch: it stays
flat because the file is streamed.

    uv run python benchmarks/import_contacts.py                      # SQLite, temporary dir
    uv run python benchmarks/import_contacts.py --rows 1000000
    uv run python benchmarks/import_contacts.py \
        --database-url postgres://tend@127.0.0.1:5432/bench_imports
      (a database the script may create and migrate; it is dropped again at the end when the
      script created it)
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import tempfile
import time

from benchdb import drop_database, ensure_database, setup


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


# A UUIDv7 (48-bit millisecond time, then random bits) built in SQL, as our keys are.
UUIDV7_SQL = ("encode(overlay(uuid_send(gen_random_uuid()) placing substring(int8send("
              "(extract(epoch from clock_timestamp()) * 1000)::bigint) from 3) from 1 for 6), "
              "'hex')::uuid")


CONTACT_COLUMNS = (
    "id, created_at, updated_at, tenant_id, first_name, last_name, display_name, "
    "display_name_custom, gender, avatar, address_line1, address_line2, city, state, "
    "postal_code, country, language, time_zone, status, lifecycle_stage, job_title, custom, "
    "external_ids, source, primary_email, primary_phone, lifetime_value_minor, "
    "lifetime_value_currency, last_activity_type, activity_count_30d, activity_count_90d, "
    "email_opt_in, sms_opt_in, whatsapp_opt_in, telegram_opt_in")


def write_csv(path: str, rows: int, existing: int, seed: int = 7) -> dict[str, int]:
    """The benchmark file; returns how many rows of each kind it holds."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    kinds = {"new": 0, "existing": 0, "duplicate": 0, "bad": 0}
    seen: list[int] = []
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("Email,First name,Last name,Phone,City,Lifecycle stage\n")
        for n in range(rows):
            roll = rng.random()
            if roll < 0.05:
                email, kinds["bad"] = f"bad-address-{n}", kinds["bad"] + 1
            elif roll < 0.07 and seen:
                email = f"new{rng.choice(seen)}@bench.example"
                kinds["duplicate"] += 1
            elif roll < 0.17 and existing:
                email = f"old{rng.randrange(existing)}@bench.example"
                kinds["existing"] += 1
            else:
                email = f"new{n}@bench.example"
                seen.append(n)
                kinds["new"] += 1
            # A phone for a third of the rows, unique per row (UK mobile numbers).
            phone = f"+4479{n:08d}" if n % 3 == 0 else ""
            stage = ("lead", "customer", "")[n % 3]
            out.write(f"{email},First{n},Last{n},{phone},City {n % 97},{stage}\n")
    return kinds


def seed_contacts(tenant, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` contacts `Old<n>` with the email `old<n>@bench.example` (an identity too)."""
    from django.db import connection, transaction

    from tend.people.models import Contact, IdentityAlias

    if connection.vendor == "postgresql":  # set-based: a million rows in about a minute
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO people_contact ({CONTACT_COLUMNS}) SELECT {UUIDV7_SQL}, now(), "
                "now(), %s, 'Old' || g, '', 'Old' || g, false, '', '', '', '', '', '', '', '', "
                "'', '', 'ACTIVE', '', '', '{}', '{}', '', 'old' || g || '@bench.example', '', "
                "0, '', '', 0, 0, false, false, false, false "
                "FROM generate_series(0, %s - 1) AS g", [str(tenant.pk), count])
            cursor.execute(
                f"INSERT INTO people_identityalias (id, created_at, updated_at, tenant_id, "
                f"contact_id, type, system, value, is_primary, source) SELECT {UUIDV7_SQL}, "
                "now(), now(), tenant_id, id, 'EMAIL', '', primary_email, true, '' "
                "FROM people_contact WHERE tenant_id = %s", [str(tenant.pk)])
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE people_contact")
            cursor.execute("VACUUM ANALYZE people_identityalias")
        return
    step = 5_000
    for start in range(0, count, step):
        contacts, aliases = [], []
        for n in range(start, min(count, start + step)):
            contact = Contact(tenant=tenant, first_name=f"Old{n}", display_name=f"Old{n}",
                              primary_email=f"old{n}@bench.example")
            contacts.append(contact)
            aliases.append(IdentityAlias(tenant=tenant, contact=contact, type="EMAIL",
                                         value=f"old{n}@bench.example", is_primary=True))
        with transaction.atomic():
            Contact.objects.bulk_create(contacts)
            IdentityAlias.objects.bulk_create(aliases)


def run_ours(tenant, path: str) -> tuple[float, dict[str, int], list[float]]:  # type: ignore[no-untyped-def]
    from django.core.files import File

    from tend.core.actors import Actor
    from tend.people.services.imports import (
        contact_import_configure,
        contact_import_create,
        contact_import_run,
    )

    actor = Actor.system()
    samples: list[float] = []
    started = time.perf_counter()
    with open(path, "rb") as handle:
        imp = contact_import_create(tenant=tenant, actor=actor,
                                    file=File(handle, name="bench.csv"))  # type: ignore[arg-type]
    imp = contact_import_configure(tenant=tenant, actor=actor, imp=imp, mapping=imp.mapping,
                                   mode="UPDATE")
    counts = contact_import_run(tenant=tenant, imp=imp,
                                after_batch=lambda n: samples.append(rss_mib()))
    return time.perf_counter() - started, counts, samples


def run_baseline(path: str) -> float:
    """COPY the file into a staging table, then INSERT … ON CONFLICT into a plain table."""
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_baseline_contact")
        cursor.execute("CREATE TABLE bench_baseline_contact (email text PRIMARY KEY, "
                       "first_name text, last_name text, phone text, city text, stage text)")
        cursor.execute("CREATE TEMP TABLE bench_staging (email text, first_name text, "
                       "last_name text, phone text, city text, stage text) ON COMMIT DROP")
        with open(path, "rb") as handle, cursor.cursor.copy(
                "COPY bench_staging FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while data := handle.read(1 << 20):
                copy.write(data)
        cursor.execute(
            "INSERT INTO bench_baseline_contact SELECT DISTINCT ON (lower(email)) lower(email), "
            "first_name, last_name, phone, city, stage FROM bench_staging "
            "ON CONFLICT (email) DO UPDATE SET first_name = EXCLUDED.first_name, "
            "last_name = EXCLUDED.last_name, phone = EXCLUDED.phone, city = EXCLUDED.city, "
            "stage = EXCLUDED.stage")
        cursor.execute("DROP TABLE bench_baseline_contact")
    return time.perf_counter() - started


def run_baseline_tables(path: str, tenant_id: str) -> float:
    """The same file by hand-written SQL into Tend's own tables (contacts + email identities,
    with their indexes and constraints): COPY into staging, INSERT the new people, UPDATE the
    known ones, INSERT their identities ON CONFLICT DO NOTHING. No validation, no phones, no
    activities, no in-file duplicates beyond DISTINCT ON. Rolled back afterwards, so the
    organization is unchanged for the real import; returns the seconds until the last
    statement."""
    from django.db import connection, transaction

    columns = CONTACT_COLUMNS
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_staging (email text, first_name text, "
                       "last_name text, phone text, city text, stage text)")
        with open(path, "rb") as handle, cursor.cursor.copy(
                "COPY bench_staging FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            while data := handle.read(1 << 20):
                copy.write(data)
        cursor.execute(
            "CREATE TEMP TABLE bench_rows AS SELECT DISTINCT ON (lower(s.email)) lower(s.email) "
            "AS email, s.first_name, s.last_name, s.city, upper(s.stage) AS stage, a.contact_id "
            "FROM bench_staging s LEFT JOIN people_identityalias a ON a.tenant_id = %s "
            "AND a.type = 'EMAIL' AND a.system = '' AND a.value = lower(s.email) "
            "WHERE s.email LIKE '%%@%%'", [tenant_id])
        cursor.execute(
            f"INSERT INTO people_contact ({columns}) SELECT {UUIDV7_SQL}, now(), now(), %s, "
            "first_name, last_name, first_name || ' ' || last_name, false, '', '', '', '', "
            "coalesce(city, ''), '', '', '', '', '', 'ACTIVE', coalesce(stage, ''), '', '{}', "
            "'{}', 'bench-baseline', email, '', 0, '', '', 0, 0, false, false, false, false "
            "FROM bench_rows WHERE contact_id IS NULL", [tenant_id])
        cursor.execute(
            "UPDATE people_contact c SET first_name = r.first_name, last_name = r.last_name, "
            "city = coalesce(r.city, ''), lifecycle_stage = coalesce(r.stage, ''), "
            "updated_at = now() FROM bench_rows r WHERE c.id = r.contact_id")
        cursor.execute(
            f"INSERT INTO people_identityalias (id, created_at, updated_at, tenant_id, "
            f"contact_id, type, system, value, is_primary, source) SELECT {UUIDV7_SQL}, now(), "
            "now(), %s, id, 'EMAIL', '', primary_email, true, 'bench-baseline' "
            "FROM people_contact WHERE tenant_id = %s AND source = 'bench-baseline' "
            "ON CONFLICT (tenant_id, type, system, value) DO NOTHING", [tenant_id, tenant_id])
        seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE people_contact")
        cursor.execute("VACUUM ANALYZE people_identityalias")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=None,
                        help="contacts the organization holds before (default: --rows)")
    parser.add_argument("--database-url", default=os.environ.get("TEND_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    existing = args.rows if args.existing is None else args.existing
    created_db = False
    if args.database_url:
        created_db = ensure_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="tend-bench-import-") as data_dir:
        setup(args.database_url, data_dir)
        from django.db import connection

        from tend.core.actors import Actor
        from tend.core.services.tenants import tenant_create
        from tend.core.tenancy import system_scope, tenant_scope

        path = os.path.join(data_dir, "bench.csv")
        kinds = write_csv(path, args.rows, existing)
        with system_scope():
            tenant = tenant_create(name="Bench", slug=f"bench-{int(time.time())}",
                                   actor=Actor.system())
        with tenant_scope(tenant):
            started = time.perf_counter()
            seed_contacts(tenant, existing)
            seeded = time.perf_counter() - started
            tables_base = None
            if connection.vendor == "postgresql":
                tables_base = run_baseline_tables(path, str(tenant.pk))
            rss_before = rss_mib()
            seconds, counts, samples = run_ours(tenant, path)
        vendor = connection.vendor
        print(f"database: {vendor}; file: {args.rows:,} rows "
              f"({os.path.getsize(path) / 2**20:.1f} MiB): {kinds}")
        print(f"organization held {existing:,} contacts (seeded in {seeded:.1f} s)")
        print(f"ours: {seconds:.2f} s = {args.rows / seconds:,.0f} rows/s; counts {counts}")
        if samples:
            print(f"RSS before the import {rss_before:.0f} MiB; during it (after each batch) "
                  f"min {min(samples):.0f} / max {max(samples):.0f} MiB; process peak "
                  f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        if vendor == "postgresql":
            base = run_baseline(path)
            print(f"baseline (COPY + INSERT … ON CONFLICT): {base:.2f} s = "
                  f"{args.rows / base:,.0f} rows/s")
            print(f"ours / baseline speed: {base / seconds:.2f}")
        if tables_base is not None:
            print(f"hand-written SQL into Tend's tables (contacts + identities, no validation, "
                  f"no activities): {tables_base:.2f} s = {args.rows / tables_base:,.0f} rows/s")
            print(f"ours / hand-written SQL into the same tables: {tables_base / seconds:.2f}")
        connection.close()
    if created_db:
        drop_database(args.database_url)


if __name__ == "__main__":
    main()
