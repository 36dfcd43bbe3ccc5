"""The audit log: writing the hash chain, verifying it, and the database refusing edits."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.services.audit import (
    GENESIS,
    audit_record,
    audit_verify_all,
    audit_verify_chain,
    compute_hash,
    entry_payload,
)
from tend.core.tenancy import system_scope, tenant_scope

pytestmark = pytest.mark.django_db


def _record(tenant, n: int, actor: Actor | None = None) -> list[AuditLog]:
    with tenant_scope(tenant):
        return [
            audit_record(tenant=tenant, actor=actor or Actor.system(), action="thing.changed",
                         entity_type="thing", entity_id=f"t{i}", changes={"n": i})
            for i in range(n)
        ]


def _raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def _drop_triggers() -> None:
    if connection.vendor == "postgresql":
        _raw("DROP TRIGGER IF EXISTS core_auditlog_no_change ON core_auditlog")
    else:
        _raw("DROP TRIGGER IF EXISTS core_auditlog_no_update")
        _raw("DROP TRIGGER IF EXISTS core_auditlog_no_delete")


def _as_system_on_db() -> None:
    """Raw SQL below must see every row even with row-level security on."""
    if connection.vendor == "postgresql":
        _raw("SELECT set_config('app.rls_bypass', 'on', false)")


# --- writing ---------------------------------------------------------------------------------


def test_record_numbers_entries_and_links_hashes(tenant):
    # given the organization.created entry written by tenant_create (seq 1)
    entries = _record(tenant, 2)
    with tenant_scope(tenant):
        first = AuditLog.objects.get(seq=1)
    assert [e.seq for e in entries] == [2, 3]
    assert first.prev_hash == GENESIS
    assert entries[0].prev_hash == first.hash
    assert entries[1].prev_hash == entries[0].hash
    assert len(entries[1].hash) == 64


def test_hash_is_sha256_of_prev_hash_and_canonical_json(tenant):
    entry = _record(tenant, 1)[0]
    payload = {
        "tenant": str(tenant.pk), "seq": 2, "actor_type": "system", "actor_id": "",
        "actor_label": "system", "action": "thing.changed", "entity_type": "thing",
        "entity_id": "t0", "changes": {"n": 0}, "ip": None, "user_agent": "",
        "created_at": entry.created_at.astimezone(UTC).isoformat(),
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    assert entry.hash == hashlib.sha256(entry.prev_hash.encode() + canonical).hexdigest()


def test_record_keeps_actor_ip_user_agent_and_label(tenant, owner):
    actor = Actor(kind="user", user=owner, ip="2001:0DB8:0000::1", user_agent="Firefox/1")
    entry = _record(tenant, 1, actor)[0]
    with tenant_scope(tenant):
        entry = AuditLog.objects.get(pk=entry.pk)
    assert (entry.actor_type, entry.actor_id, entry.actor_label) == (
        "user", str(owner.pk), "owner@example.com"
    )
    assert (entry.ip, entry.user_agent) == ("2001:db8::1", "Firefox/1")
    with tenant_scope(tenant):
        assert audit_verify_chain(tenant=tenant).ok


def test_record_drops_an_ip_that_is_not_an_address(tenant):
    entry = _record(tenant, 1, Actor(kind="system", ip="not-an-ip"))[0]
    assert entry.ip is None


def test_changes_that_are_not_plain_json_still_verify(tenant):
    # given values jsonb or json would not give back unchanged
    changes = {"amount": Decimal("1.50"), "big": 1e20, "ratio": 0.25, "inf": float("inf"),
               "when": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC), "tags": ("a", "b"), 7: "x"}
    with tenant_scope(tenant):
        entry = audit_record(tenant=tenant, actor=Actor.system(), action="x.y", changes=changes)
        stored = AuditLog.objects.get(pk=entry.pk).changes
        report = audit_verify_chain(tenant=tenant)
    assert stored == {"amount": "1.50", "big": 100000000000000000000, "ratio": 0.25,
                      "inf": "inf", "when": "2025-01-02 03:04:05+00:00", "tags": ["a", "b"],
                      "7": "x"}
    assert (report.ok, report.checked, report.head_seq) == (True, 2, 2)


def test_chains_are_per_tenant(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    _record(tenant, 3)
    _record(other, 1)
    with system_scope():
        reports = {r.tenant_slug: (r.ok, r.checked) for r in audit_verify_all()}
    assert reports == {"acme": (True, 4), "other": (True, 2)}


def test_duplicate_seq_is_refused_by_the_unique_constraint(tenant):
    entry = _record(tenant, 1)[0]
    with tenant_scope(tenant), pytest.raises(IntegrityError), transaction.atomic():
        AuditLog.objects.create(
            tenant=tenant, seq=entry.seq, actor_type="system", action="forged",
            created_at=entry.created_at, prev_hash=entry.prev_hash, hash="0" * 64,
        )


# --- the database refuses changes ------------------------------------------------------------


def test_update_through_the_orm_is_refused(tenant):
    _record(tenant, 1)
    with tenant_scope(tenant), pytest.raises(DatabaseError, match="append-only"), \
            transaction.atomic():
        AuditLog.objects.filter(seq=1).update(action="edited")


def test_delete_through_the_orm_is_refused(tenant):
    with tenant_scope(tenant), pytest.raises(DatabaseError, match="append-only"), \
            transaction.atomic():
        AuditLog.objects.filter(seq=1).delete()


def test_raw_update_and_delete_are_refused(tenant):
    _as_system_on_db()
    for sql in ("UPDATE core_auditlog SET action = 'x'", "DELETE FROM core_auditlog"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            _raw(sql)
    with tenant_scope(tenant):
        assert AuditLog.objects.count() == 1


def test_truncate_is_refused_on_postgresql(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; DELETE is refused by its own trigger")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        _raw("TRUNCATE core_auditlog")


# --- verifying -------------------------------------------------------------------------------


def test_verify_passes_an_untouched_chain(tenant):
    entries = _record(tenant, 4)
    with tenant_scope(tenant):
        report = audit_verify_chain(tenant=tenant)
    assert (report.ok, report.checked, report.first_broken_seq, report.reason) == (
        True, 5, None, ""
    )
    assert (report.head_seq, report.head_hash) == (5, entries[-1].hash)


def test_verify_names_an_edited_entry(tenant):
    _record(tenant, 4)
    _drop_triggers()
    _as_system_on_db()
    _raw("UPDATE core_auditlog SET changes = %s WHERE tenant_id = %s AND seq = 3",
         ['{"n": 99}', tenant.pk.hex if connection.vendor == "sqlite" else str(tenant.pk)])
    with tenant_scope(tenant):
        report = audit_verify_chain(tenant=tenant)
    assert (report.ok, report.first_broken_seq, report.checked) == (False, 3, 3)
    assert report.reason == "entry #3 was altered (its content does not match its hash)"


def test_verify_names_a_deleted_middle_entry(tenant):
    _record(tenant, 4)
    _drop_triggers()
    _as_system_on_db()
    _raw("DELETE FROM core_auditlog WHERE seq = 2")
    with tenant_scope(tenant):
        report = audit_verify_chain(tenant=tenant)
    assert (report.ok, report.first_broken_seq) == (False, 2)
    assert report.reason == "entry #2 is missing (next is #3)"


def test_verify_names_an_entry_rehashed_to_hide_an_edit(tenant):
    # given an attacker who edits entry 2 and recomputes its own hash
    entries = _record(tenant, 3)
    target = entries[0]
    payload = entry_payload(
        tenant_id=tenant.pk, seq=target.seq, actor_type="system", actor_id="",
        actor_label="system", action="thing.changed", entity_type="thing", entity_id="t0",
        changes={"n": 12345}, ip=None, user_agent="", created_at=target.created_at,
    )
    forged = compute_hash(target.prev_hash, payload)
    _drop_triggers()
    _as_system_on_db()
    _raw("UPDATE core_auditlog SET changes = %s, hash = %s WHERE id = %s",
         ['{"n": 12345}', forged,
          target.pk.hex if connection.vendor == "sqlite" else str(target.pk)])
    with tenant_scope(tenant):
        report = audit_verify_chain(tenant=tenant)
    # then the next entry no longer follows it
    assert (report.ok, report.first_broken_seq) == (False, 3)
    assert report.reason == ("entry #3 does not follow entry #2 (its prev_hash differs: "
                             "#2 was replaced?)")


# --- `tend audit verify` ---------------------------------------------------------------------


def _verify_command(*args: str) -> str:
    out = StringIO()
    call_command("audit", "verify", *args, stdout=out)
    return out.getvalue()


def test_command_reports_every_chain_holds(tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    _record(tenant, 2)
    with system_scope():
        heads = {t.slug: audit_verify_chain(tenant=t).head_hash for t in (tenant, other)}
    assert _verify_command().splitlines() == [
        f"ok      acme: 3 entries, head #3 {heads['acme']}",
        f"ok      other: 1 entries, head #1 {heads['other']}",
        "all 2 audit chains hold",
    ]


def test_command_names_the_first_broken_entry_and_exits_1(tenant, make_tenant):
    make_tenant("Other", slug="other")
    _record(tenant, 4)
    _drop_triggers()
    _as_system_on_db()
    _raw("DELETE FROM core_auditlog WHERE seq = 3 AND action = 'thing.changed'")
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command("audit", "verify", stdout=out)
    assert excinfo.value.returncode == 1
    assert str(excinfo.value) == (
        "audit chain broken: organization acme, entry #3: entry #3 is missing (next is #4)"
    )
    assert out.getvalue().splitlines()[0] == (
        "BROKEN  acme: entry #3: entry #3 is missing (next is #4)"
    )


def test_command_with_tenant_checks_only_that_one(tenant, make_tenant):
    make_tenant("Other", slug="other")
    lines = _verify_command("--tenant", "other").splitlines()
    assert [line.split(":")[0] for line in lines] == ["ok      other", "all 1 audit chains hold"]


def test_command_with_unknown_tenant_exits_2(tenant):
    with pytest.raises(CommandError) as excinfo:
        _verify_command("--tenant", "nope")
    assert (excinfo.value.returncode, str(excinfo.value)) == (
        2, "no organization with slug 'nope'"
    )
