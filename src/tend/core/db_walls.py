"""Database-level walls, installed after every `migrate`.

1. The audit log is append-only: triggers refuse UPDATE and DELETE on SQLite and PostgreSQL.
2. On PostgreSQL with `TEND_DB_RLS` on, every table that has a `tenant_id` column gets row-level
   security (ENABLE + FORCE) with a policy that shows only rows of the tenant named by the
   connection's `app.tenant_id` setting, unless `app.rls_bypass` is on (system code).

They are (re)installed by a post_migrate receiver rather than a migration so that every model
of every later module is covered without each one remembering to add a migration. All
statements are idempotent.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

AUDIT_TABLE = "core_auditlog"

SQLITE_AUDIT_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_update BEFORE UPDATE ON {AUDIT_TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS {AUDIT_TABLE}_no_delete BEFORE DELETE ON {AUDIT_TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
]

PG_AUDIT_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION tend_refuse_change() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_change ON {AUDIT_TABLE}",
    f"""CREATE TRIGGER {AUDIT_TABLE}_no_change BEFORE UPDATE OR DELETE ON {AUDIT_TABLE}
    FOR EACH ROW EXECUTE FUNCTION tend_refuse_change()""",
    f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_truncate ON {AUDIT_TABLE}",
    f"""CREATE TRIGGER {AUDIT_TABLE}_no_truncate BEFORE TRUNCATE ON {AUDIT_TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION tend_refuse_change()""",
]

RLS_POLICY = "tend_tenant_isolation"


def tenant_tables() -> list[str]:
    """Every concrete table with a `tenant` foreign key (all tenant-owned models)."""
    tables = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.abstract or model._meta.proxy or not model._meta.managed:
            continue
        names = {f.name for f in model._meta.concrete_fields}
        if "tenant" in names:
            tables.append(model._meta.db_table)
    return sorted(set(tables))


def rls_statements(table: str) -> list[str]:
    using = (
        "current_setting('app.rls_bypass', true) = 'on' OR "
        "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid"
    )
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS {RLS_POLICY} ON "{table}"',
        f'CREATE POLICY {RLS_POLICY} ON "{table}" USING ({using}) WITH CHECK ({using})',
    ]


def rls_off_statements(table: str) -> list[str]:
    return [
        f'DROP POLICY IF EXISTS {RLS_POLICY} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


def install_walls(using: str = "default") -> None:
    """Install the audit triggers, and on PostgreSQL make row-level security match
    `TEND_DB_RLS`: on → policies on every tenant table; off → removed, since with the setting
    off nothing sets `app.tenant_id` and leftover policies would hide every row."""
    connection = connections[using]
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        if AUDIT_TABLE in existing:
            statements = (
                PG_AUDIT_TRIGGERS if connection.vendor == "postgresql" else SQLITE_AUDIT_TRIGGERS
            )
            for sql in statements:
                cursor.execute(sql)
        if connection.vendor != "postgresql":
            return
        rls_on = bool(getattr(settings, "TEND_DB_RLS", False))
        for table in tenant_tables():
            if table not in existing:
                continue
            if rls_on:
                statements = rls_statements(table)
            elif _has_rls(cursor, table):
                statements = rls_off_statements(table)
            else:
                continue
            for sql in statements:
                cursor.execute(sql)


def _has_rls(cursor: Any, table: str) -> bool:
    cursor.execute(
        "SELECT relrowsecurity OR relforcerowsecurity FROM pg_class "
        "WHERE oid = to_regclass(%s)",
        [f'"{table}"'],
    )
    row = cursor.fetchone()
    return bool(row and row[0])


@receiver(post_migrate)
def _install_walls_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    # post_migrate fires once per app; install once, after our own app has migrated.
    if getattr(sender, "label", None) != "core":
        return
    install_walls(using)
