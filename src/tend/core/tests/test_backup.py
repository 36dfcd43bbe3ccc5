"""`tend backup` / `tend restore`: a round trip on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

import shutil
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tend.core.actors import Actor
from tend.core.models import Tag, Tenant
from tend.core.services.audit import audit_verify_chain
from tend.core.services.tags import tag_create
from tend.core.tenancy import system_scope, tenant_scope

needs_pg_tools = pytest.mark.skipif(
    connection.vendor == "postgresql" and not (shutil.which("pg_dump")
                                               and shutil.which("pg_restore")),
    reason="pg_dump/pg_restore are not installed",
)


def _slugs() -> list[str]:
    with system_scope():
        return sorted(Tenant.objects.values_list("slug", flat=True))


@needs_pg_tools
def test_backup_then_restore_brings_back_the_data(transactional_db, tmp_path, make_tenant):
    before = make_tenant("Before Club", slug="before")
    with tenant_scope(before):
        tag_create(tenant=before, actor=Actor.system(), name="Kept")
    target = tmp_path / "tend.backup"
    out = StringIO()

    call_command("backup", str(target), stdout=out)

    assert out.getvalue().startswith(f"Backed up to {target} (")
    assert target.stat().st_size > 0
    after = make_tenant("After Club", slug="after")
    with tenant_scope(before):
        Tag.objects.filter(tenant=before).update(name="Changed")
    assert _slugs() == ["after", "before"]

    with pytest.raises(CommandError, match="already holds data"):
        call_command("restore", str(target), stdout=StringIO())
    assert _slugs() == ["after", "before"]

    call_command("restore", str(target), "--force", stdout=StringIO())

    assert _slugs() == ["before"]
    with tenant_scope(before):
        assert list(Tag.objects.values_list("name", flat=True)) == ["Kept"]
        report = audit_verify_chain(tenant=before)
    assert (report.ok, report.checked) == (True, 2)
    with system_scope():
        assert not Tenant.objects.filter(pk=after.pk).exists()


def test_backup_refuses_to_replace_a_file(db, tmp_path):
    target = tmp_path / "existing.backup"
    target.write_text("keep me")
    with pytest.raises(CommandError, match="exists"):
        call_command("backup", str(target), stdout=StringIO())
    assert target.read_text() == "keep me"


@pytest.mark.skipif(connection.vendor != "sqlite", reason="checks the SQLite file format")
def test_restore_rejects_a_file_that_is_not_a_backup(db, tmp_path):
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CommandError, match="is not a SQLite backup"):
        call_command("restore", str(bogus), "--force", stdout=StringIO())
    with pytest.raises(CommandError, match="does not exist"):
        call_command("restore", str(tmp_path / "missing"), "--force", stdout=StringIO())
    assert _slugs() == []
