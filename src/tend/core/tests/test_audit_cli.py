"""`tend audit verify` end to end: a real `tend` process on a SQLite file, tampered with
through plain SQL behind Tend's back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def _tend(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    env.update(TEND_DATA_DIR=str(data_dir), TEND_SECRET_KEY="test-secret-key-for-cli",
               TEND_LOG_LEVEL="ERROR")
    return subprocess.run(
        [sys.executable, "-m", "tend.cli", *args], env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tend-cli")
    for args in (("migrate", "-v0"), ("createtenant", "Acme Club", "--slug", "acme"),
                 ("createtenant", "Other Club", "--slug", "other")):
        result = _tend(path, *args)
        assert result.returncode == 0, result.stderr
    return path


def test_verify_passes_then_names_the_tampered_entry(data_dir: Path):
    ok = _tend(data_dir, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "all 2 audit chains hold"

    # tamper: the triggers refuse, so drop them first, as an attacker with file access would
    db = sqlite3.connect(data_dir / "tend.sqlite3")
    with db:
        try:
            db.execute("UPDATE core_auditlog SET action = 'x'")
        except sqlite3.IntegrityError as exc:
            refused = str(exc)
        db.execute("DROP TRIGGER core_auditlog_no_update")
        db.execute(
            "UPDATE core_auditlog SET changes = '{\"slug\": \"evil\"}' WHERE seq = 1 AND "
            "tenant_id = (SELECT id FROM core_tenant WHERE slug = 'other')"
        )
    db.close()
    assert refused == "audit log is append-only"

    broken = _tend(data_dir, "audit", "verify")
    assert broken.returncode == 1
    assert broken.stderr.strip() == (
        "CommandError: audit chain broken: organization other, entry #1: entry #1 was "
        "altered (its content does not match its hash)"
    )
    only_acme = _tend(data_dir, "audit", "verify", "--tenant", "acme")
    assert only_acme.returncode == 0


def test_unknown_tenant_exits_2(data_dir: Path):
    result = _tend(data_dir, "audit", "verify", "--tenant", "nope")
    assert (result.returncode, result.stderr.strip()) == (
        2, "CommandError: no organization with slug 'nope'"
    )
