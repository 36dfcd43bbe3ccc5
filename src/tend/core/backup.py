"""Backing up and restoring the whole database (`tend backup`, `tend restore`).

SQLite: SQLite's online backup API copies the live database page by page into a new file,
consistent even while Tend is serving; restoring copies a backup file back the same way.
PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --single-transaction`, with
the connection settings of `TEND_DATABASE_URL`. With row-level security on, both tools run
with the RLS bypass setting so that every organization's rows are dumped and restored.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections


class BackupError(Exception):
    """The backup or restore could not be done; the message says why."""


def _vendor(using: str) -> str:
    vendor = connections[using].vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups of {vendor} databases are not supported")
    return vendor


def default_backup_path(using: str = "default") -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if _vendor(using) == "sqlite" else "dump"
    return Path(settings.DATA_DIR) / "backups" / f"tend-{stamp}.{suffix}"


def database_has_data(using: str = "default") -> bool:
    """True when the database holds a Tend schema (restoring would overwrite something)."""
    return "django_migrations" in connections[using].introspection.table_names()


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_env(using: str) -> dict[str, str]:
    db = connections[using].settings_dict
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"),
                     ("PGPASSWORD", "PASSWORD"), ("PGDATABASE", "NAME")):
        if db.get(key):
            env[var] = str(db[key])
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c app.rls_bypass=on").strip()
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found on PATH; install the PostgreSQL client tools")
    return path


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-2000:]}")


# --- backup / restore -------------------------------------------------------------------------


def backup_database(target: Path, *, using: str = "default", force: bool = False) -> Path:
    """Write a consistent copy of the database to `target` (refusing to replace an existing
    file unless `force`). The file appears only once complete."""
    target = Path(target)
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another file or use --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    connection = connections[using]
    try:
        if _vendor(using) == "sqlite":
            connection.ensure_connection()
            destination = sqlite3.connect(partial)
            try:
                connection.connection.backup(destination)
            finally:
                destination.close()
        else:
            _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  "--enable-row-security", f"--file={partial}"], _pg_env(using))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _check_sqlite_backup(source: Path) -> None:
    try:
        check = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            status = check.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master")}
        finally:
            check.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
    if status != "ok":
        raise BackupError(f"{source} is damaged: {status}")
    if "django_migrations" not in tables:
        raise BackupError(f"{source} is not a Tend backup")


def restore_database(source: Path, *, using: str = "default", force: bool = False) -> None:
    """Replace the database's contents with the backup `source`.

    Refuses when the database already holds data unless `force`. Stop every other process
    using the database first (`tend serve`, workers).
    """
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    vendor = _vendor(using)
    if vendor == "sqlite":
        _check_sqlite_backup(source)
    else:
        _run([_pg_tool("pg_restore"), "--list", str(source)], _pg_env(using))
    if database_has_data(using) and not force:
        raise BackupError("the database already holds data; restoring replaces all of it. "
                          "Use --force to go ahead.")
    connection = connections[using]
    if vendor == "sqlite":
        connection.ensure_connection()
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            backup.backup(connection.connection)
        finally:
            backup.close()
    else:
        connection.close()
        _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
              "--single-transaction", "--enable-row-security",
              f"--dbname={connection.settings_dict['NAME']}", str(source)], _pg_env(using))
    # Whatever Django cached about the old database is stale now.
    connection.close()
