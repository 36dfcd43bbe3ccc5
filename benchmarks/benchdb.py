"""What every benchmark script needs: its own database and a configured Django.

    from benchdb import drop_database, ensure_database, setup

(the scripts run as `uv run python benchmarks/<name>.py`, so this directory is on the path).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


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
