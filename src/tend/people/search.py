"""Contact search support in the database, installed after every `migrate`.

PostgreSQL: the `pg_trgm` extension (trusted since PostgreSQL 13, so the database owner may
create it) and GIN trigram indexes on `display_name`, `primary_email` and `primary_phone`; they
serve `ILIKE '%…%'` and the word-similarity operator `%>` used by the contact selectors.

SQLite: an FTS5 table `people_contact_fts` (rowid = the contact row's rowid) holding each
contact's names, primary email and phone, kept in step by triggers on `people_contact`.

Like the core's database walls (`tend.core.db_walls`), these are installed by a post_migrate
receiver rather than a migration: the people app keeps a single regenerated initial migration
while unreleased, and a hand-written migration depending on it would break that regeneration.
Every statement is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models.signals import post_migrate
from django.dispatch import receiver

FTS_TABLE = "people_contact_fts"
CONTACT_TABLE = "people_contact"
TRGM_COLUMNS = ("display_name", "primary_email", "primary_phone")

_BODY = ("coalesce({p}.display_name,'') || ' ' || coalesce({p}.first_name,'') || ' ' || "
         "coalesce({p}.last_name,'') || ' ' || coalesce({p}.primary_email,'') || ' ' || "
         "coalesce({p}.primary_phone,'')")

SQLITE_STATEMENTS = [
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON {CONTACT_TABLE} BEGIN
        INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.rowid, {_BODY.format(p="new")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE OF display_name, first_name,
        last_name, primary_email, primary_phone ON {CONTACT_TABLE} BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = old.rowid;
        INSERT INTO {FTS_TABLE}(rowid, body) VALUES (new.rowid, {_BODY.format(p="new")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON {CONTACT_TABLE} BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = old.rowid;
    END""",
]


def _install_sqlite(cursor: Any) -> None:
    cursor.execute("SELECT 1 FROM sqlite_master WHERE name = %s", [FTS_TABLE])
    if cursor.fetchone() is None:
        cursor.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(body, "
                       f"tokenize='unicode61 remove_diacritics 2')")
        cursor.execute(f"INSERT INTO {FTS_TABLE}(rowid, body) SELECT rowid, "
                       f"{_BODY.format(p=CONTACT_TABLE)} FROM {CONTACT_TABLE}")
    for sql in SQLITE_STATEMENTS:
        cursor.execute(sql)


def _install_postgresql(cursor: Any) -> None:
    cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRGM_COLUMNS:
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {CONTACT_TABLE}_{column}_trgm "
                       f"ON {CONTACT_TABLE} USING gin ({column} gin_trgm_ops)")


def install_search(using: str = "default") -> None:
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            _install_sqlite(cursor)
        elif connection.vendor == "postgresql":
            _install_postgresql(cursor)


@receiver(post_migrate)
def _install_search_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    if getattr(sender, "label", None) != "people":
        return
    install_search(using)
