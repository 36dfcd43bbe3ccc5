"""Concurrent writers of one organization's audit chain, on PostgreSQL (real connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.services.audit import audit_record, audit_verify_chain
from tend.core.tenancy import tenant_scope

pytestmark = pytest.mark.postgres

WRITERS = 6
ENTRIES_PER_WRITER = 5


@pytest.fixture
def pg_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serializes writers with one database lock")


def test_concurrent_writers_of_one_tenant_keep_one_unbroken_chain(
    pg_only, transactional_db, make_tenant, make_user
):
    # given one organization and six threads, each with its own database connection
    tenant = make_tenant("Acme", slug="acme", owner=make_user("o@example.com"))
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            with tenant_scope(tenant):
                for i in range(ENTRIES_PER_WRITER):
                    # two entries per transaction, so lock holders overlap with waiters
                    with transaction.atomic():
                        audit_record(tenant=tenant, actor=Actor.system(), action="w.a",
                                     entity_id=f"{n}-{i}")
                        audit_record(tenant=tenant, actor=Actor.system(), action="w.b",
                                     entity_id=f"{n}-{i}")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    # when they all append at once
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    # then no write failed and the chain is one gapless, verifiable sequence
    assert errors == []
    total = 1 + WRITERS * ENTRIES_PER_WRITER * 2
    with tenant_scope(tenant):
        seqs = list(AuditLog.objects.order_by("seq").values_list("seq", flat=True))
        report = audit_verify_chain(tenant=tenant)
    assert seqs == list(range(1, total + 1))
    assert (report.ok, report.checked, report.head_seq) == (True, total, total)


def test_writers_of_different_tenants_do_not_wait_for_each_other(
    pg_only, transactional_db, make_tenant
):
    # given tenant A's chain locked by an open transaction in another thread
    a = make_tenant("A", slug="a")
    b = make_tenant("B", slug="b")
    locked = threading.Event()
    release = threading.Event()

    def hold_a() -> None:
        try:
            with tenant_scope(a), transaction.atomic():
                audit_record(tenant=a, actor=Actor.system(), action="hold")
                locked.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_a)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        # when B writes (with a short lock timeout, so waiting would fail the test)
        with tenant_scope(b), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            entry = audit_record(tenant=b, actor=Actor.system(), action="free")
    finally:
        release.set()
        holder.join(timeout=30)
    # then B's entry went in at once
    assert entry.seq == 2
