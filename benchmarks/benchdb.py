"""What every benchmark script needs: its own database, a configured Django, and the few
helpers the set-based seeding shares (SQL that differs by database, raw statements, filling
every column of a model in an `INSERT … SELECT`).

    from benchdb import Sql, close_and_drop, column_exprs, ensure_database, execute, setup

(the scripts run as `uv run python benchmarks/<name>.py`, so this directory is on the path).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database of `url` if missing; returns True when it was created."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(f'CREATE DATABASE "{name}"')
    return True


def drop_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def close_and_drop(url: str) -> None:
    """After a run: close Django's connections, then drop the run's database."""
    from django.db import connections

    connections.close_all()
    drop_database(url)


def setup(database_url: str | None, data_dir: str, **env: str) -> None:
    """Configure Tend for a benchmark run (data in `data_dir`, SQLite unless `database_url`,
    `env` as extra `TEND_*` settings), set Django up and migrate."""
    os.environ["TEND_DATA_DIR"] = data_dir
    os.environ.setdefault("TEND_SECRET_KEY", "benchmark-secret-key-not-for-production")
    os.environ["TEND_LOG_LEVEL"] = "WARNING"
    os.environ.update(env)
    if database_url:
        os.environ["TEND_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Sql:
    """The few expressions that differ between PostgreSQL and SQLite. With `escape`, the
    modulo signs inside them are doubled, for statements sent with driver parameters as
    they are (`execute`); without, for callers that double every `%` themselves."""

    def __init__(self, vendor: str, *, escape: bool = False) -> None:
        self.pg = vendor == "postgresql"
        self.pct = "%%" if escape else "%"

    def series(self, name: str, count: int) -> str:
        if self.pg:
            return f"generate_series(1, {count}) AS {name}(n)"
        return (f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
                f"WHERE n < {count}) SELECT n FROM s) AS {name}")

    def uuid(self) -> str:
        return "gen_random_uuid()" if self.pg else "lower(hex(randomblob(16)))"

    def ordered_uuid(self, prefix: str, number: str) -> str:
        """Ids that grow with `number`, as the product's time-ordered (v7) ids grow with
        time: rows go to the right edge of the primary key's index instead of anywhere."""
        if self.pg:
            return f"('{prefix}-0000-7000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid"
        return f"('{prefix}00007000' || printf('8000{self.pct}012x', {number}))"

    def days_ago(self, expr: str) -> str:
        if self.pg:
            return f"(now() - make_interval(days => ({expr})::int))"
        p = self.pct
        return f"strftime('{p}Y-{p}m-{p}d {p}H:{p}M:{p}f', 'now', '-' || ({expr}) || ' days')"

    def now(self) -> str:
        p = self.pct
        return "now()" if self.pg else f"strftime('{p}Y-{p}m-{p}d {p}H:{p}M:{p}f', 'now')"

    def pick(self, expr: str, values: list[str]) -> str:
        whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
        return f"(CASE ({expr}) {self.pct} {len(values)} {whens} END)"

    def custom(self, n: str) -> str:
        plan = self.pick(f"{n} / 3", ["free", "silver", "gold"])
        p = self.pct
        if self.pg:
            return (f"jsonb_build_object('plan', {plan}, 'score', {n} {p} 100, "
                    f"'vip', ({n} {p} 10 = 0))")
        return (f"json_object('plan', {plan}, 'score', {n} {p} 100, 'vip', "
                f"json(CASE WHEN {n} {p} 10 = 0 THEN 'true' ELSE 'false' END))")

    def num(self, column: str) -> str:
        return f"CAST({column} AS integer)"

    def true(self) -> str:
        return "true" if self.pg else "1"

    def false(self) -> str:
        return "false" if self.pg else "0"


def execute(statement: str, params: Any = ()) -> int:
    """Run one raw statement; its row count. `params` as the driver takes them (`%s` or
    `%(name)s`); a literal `%` in `statement` is written `%%`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def column_exprs(model: Any, values: dict[str, str], sql: Sql) -> tuple[list[str], list[str]]:
    """Every concrete column of `model` and the SQL filling it in an `INSERT … SELECT`:
    `values[column]`, else NULL where allowed, else a neutral value (false, '{}', 0, '')."""
    columns, exprs = [], []
    for field in model._meta.concrete_fields:
        columns.append(field.column)
        kind = field.get_internal_type()
        if field.column in values:
            exprs.append(values[field.column])
        elif field.null:
            exprs.append("NULL")
        elif kind == "BooleanField":
            exprs.append(sql.false())
        elif kind == "JSONField":
            exprs.append("'{}'")
        elif "Integer" in kind:
            exprs.append("0")
        else:
            exprs.append("''")
    return columns, exprs
