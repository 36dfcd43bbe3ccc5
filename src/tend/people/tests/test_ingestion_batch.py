"""A batch processed as a set: query counts, the sequential meaning kept, identities of
deleted contacts, the audit entries written last, concurrent batches."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.services.audit import audit_record, audit_record_many, audit_verify_chain
from tend.core.tenancy import tenant_scope
from tend.people.models import Activity, Contact, DuplicateCandidate, IdentityAlias
from tend.people.services.contacts import contact_create, contact_delete
from tend.people.services.ingestion import activities_ingest
from tend.people.services.resolution import contact_resolve

SYSTEM = Actor.system()


def item(email, n, **over):
    base = {"identifiers": [{"type": "EMAIL", "value": email}],
            "contact": {"first_name": f"Guest {n}"}, "type": "TICKET_PURCHASED",
            "title": f"Ticket {n}", "source": "shop", "source_event_id": f"order-{n}",
            "occurred_at": "2026-01-05T10:00:00Z"}
    base.update(over)
    return base


def _ingest_counting(tenant, items):
    with CaptureQueriesContext(connection) as queries:
        results = activities_ingest(tenant=tenant, actor=SYSTEM, items=items)
    return results, len(queries)


def test_new_people_cost_the_same_queries_whatever_the_batch_size(scoped):
    small, small_queries = _ingest_counting(
        scoped, [item(f"a{n}@example.com", n) for n in range(5)])
    large, large_queries = _ingest_counting(
        scoped, [item(f"b{n}@example.com", 100 + n) for n in range(60)])
    assert [r.status for r in small + large] == ["created"] * 65
    assert all(r.contact_created for r in small + large)
    assert small_queries == large_queries
    assert large_queries <= 25
    assert Contact.objects.count() == 65
    # Known people: the same few queries for 60 items.
    again, again_queries = _ingest_counting(
        scoped, [item(f"b{n}@example.com", 100 + n, source_event_id=f"again-{n}")
                 for n in range(60)])
    assert [r.contact_created for r in again] == [False] * 60
    assert again_queries <= 20


def test_new_contacts_are_written_as_contact_create_writes_them(scoped):
    results = activities_ingest(tenant=scoped, actor=SYSTEM, items=[
        item("Lina@Example.com", 1, identifiers=[
            {"type": "EMAIL", "value": "Lina@Example.com"},
            {"type": "PHONE", "value": "+1 202 555 0143"},
            {"type": "EMAIL", "value": "lina.k@example.com"}],
            contact={"first_name": "Lina", "last_name": "Khoury", "city": "Beirut"}),
    ])
    contact = Contact.objects.get()
    assert (results[0].contact_id, results[0].contact_created) == (contact.pk, True)
    assert (contact.display_name, contact.city, contact.source, contact.primary_email,
            contact.primary_phone, contact.activity_count_90d, contact.last_activity_type) == (
        "Lina Khoury", "Beirut", "shop", "lina@example.com", "+12025550143", 1,
        "CONTACT_CREATED")
    assert sorted(IdentityAlias.objects.values_list("type", "value", "is_primary")) == [
        ("EMAIL", "lina.k@example.com", False), ("EMAIL", "lina@example.com", True),
        ("PHONE", "+12025550143", True)]
    assert sorted(Activity.objects.values_list("type", "title")) == [
        ("CONTACT_CREATED", "Lina Khoury"), ("TICKET_PURCHASED", "Ticket 1")]
    entry = AuditLog.objects.get(action="contact.created")
    assert (entry.entity_id, entry.changes, entry.actor_label) == (
        str(contact.pk),
        {"fields": ["city", "display_name", "first_name", "last_name", "source"],
         "aliases": 3, "tags": []}, "system")


def test_items_of_one_batch_see_what_earlier_items_did(scoped):
    older = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Old"},
                           phones=["+12025550100"])
    results = activities_ingest(tenant=scoped, actor=SYSTEM, items=[
        item("new@example.com", 1),
        # The same new person again, with a phone: found, and the phone attached.
        item("new@example.com", 2, identifiers=[
            {"type": "EMAIL", "value": "new@example.com"},
            {"type": "PHONE", "value": "+12025550111"}]),
        # Named by the phone only: the contact item 1 created.
        item("", 3, identifiers=[{"type": "PHONE", "value": "+12025550111"}]),
        # The new person's email and the older contact's phone: no guess, a candidate.
        item("", 4, identifiers=[{"type": "EMAIL", "value": "new@example.com"},
                                 {"type": "PHONE", "value": "+12025550100"}]),
        # A bad field for a new contact: refused alone.
        item("bad@example.com", 5, contact={"colour": "red"}),
    ])
    new = Contact.objects.get(primary_email="new@example.com")
    assert [r.status for r in results] == ["created"] * 4 + ["error"]
    assert [r.contact_id for r in results[:4]] == [new.pk, new.pk, new.pk, older.pk]
    assert [r.contact_created for r in results] == [True, False, False, False, False]
    assert results[3].conflicts == [new.pk]
    assert results[4].errors == {"colour": ["This field cannot be set."]}
    assert new.primary_phone == "+12025550111"
    pair = DuplicateCandidate.objects.get()
    assert {pair.contact_a_id, pair.contact_b_id} == {new.pk, older.pk}
    assert pair.matched_fields == ["email", "phone"]
    assert not IdentityAlias.objects.filter(value="bad@example.com").exists()
    assert list(AuditLog.objects.filter(action__startswith="contact.").order_by("seq")
                .values_list("action", flat=True)) == [
        "contact.created", "contact.created", "contact.identities_resolved"]
    new.refresh_from_db()
    older.refresh_from_db()
    assert (new.activity_count_90d, older.activity_count_90d) == (1, 1)
    assert new.last_activity_type == "CONTACT_CREATED"


def test_known_people_metrics_move_as_one_by_one(scoped):
    contact = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "K"},
                             emails=["k@example.com"])
    Contact.objects.filter(pk=contact.pk).update(activity_count_30d=0, activity_count_90d=0,
                                                 last_activity_at=None, last_activity_type="")
    from django.utils import timezone

    recent = timezone.now().replace(microsecond=0)
    activities_ingest(tenant=scoped, actor=SYSTEM, items=[
        item("k@example.com", 1, type="A", occurred_at=recent.isoformat()),
        item("k@example.com", 2, type="B", occurred_at="2020-01-01T00:00:00Z"),
    ])
    contact.refresh_from_db()
    assert (contact.activity_count_30d, contact.activity_count_90d, contact.last_activity_at,
            contact.last_activity_type) == (1, 1, recent, "A")


def test_audit_entries_are_written_last(scoped):
    contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Warm"})
    with CaptureQueriesContext(connection) as queries:
        activities_ingest(tenant=scoped, actor=SYSTEM,
                          items=[item(f"c{n}@example.com", n) for n in range(3)])
    sql = [q["sql"] for q in queries.captured_queries]
    audit_writes = [n for n, q in enumerate(sql) if "core_auditlog" in q]
    other_writes = [n for n, q in enumerate(sql)
                    if re.search(r"\b(INSERT|UPDATE)\b", q) and "core_auditlog" not in q]
    assert audit_writes and other_writes
    assert min(audit_writes) > max(other_writes)
    assert AuditLog.objects.filter(action="contact.created").count() == 4
    assert audit_verify_chain(tenant=scoped).ok


def test_audit_record_many_continues_the_chain(scoped):
    first = audit_record(tenant=scoped, actor=SYSTEM, action="first").seq
    entries = audit_record_many(tenant=scoped, actor=SYSTEM, entries=[
        ("a", "contact", "1", {"n": 1.0, "s": {"x", "y"}}), ("b", "", "", None),
        ("c", "contact", "3", {"nested": {"k": [1, 2]}})])
    audit_record(tenant=scoped, actor=SYSTEM, action="last")
    assert [e.seq for e in entries] == [first + 1, first + 2, first + 3]
    assert list(AuditLog.objects.filter(seq__gte=first).order_by("seq").values_list(
        "seq", "action")) == [(first, "first"), (first + 1, "a"), (first + 2, "b"),
                              (first + 3, "c"), (first + 4, "last")]
    assert entries[0].prev_hash == AuditLog.objects.get(seq=first).hash
    report = audit_verify_chain(tenant=scoped)
    assert (report.ok, report.checked) == (True, first + 4)
    assert audit_record_many(tenant=scoped, actor=SYSTEM, entries=[]) == []


# --- deleted contacts ---------------------------------------------------------------------


def _deleted(tenant, email, phone=None):
    contact = contact_create(tenant=tenant, actor=SYSTEM, data={"first_name": "Gone"},
                             emails=[email, "other@example.com"],
                             phones=[phone] if phone else [])
    return contact_delete(tenant=tenant, actor=SYSTEM, contact=contact)


@pytest.mark.parametrize("path", ["batch", "resolve"])
def test_a_deleted_contacts_identity_moves_to_a_new_contact(scoped, path):
    gone = _deleted(scoped, "back@example.com")
    if path == "batch":
        result = activities_ingest(tenant=scoped, actor=SYSTEM,
                                   items=[item("back@example.com", 1)])[0]
        new_id, created = result.contact_id, result.contact_created
    else:
        resolved = contact_resolve(tenant=scoped, actor=SYSTEM,
                                   identifiers=[{"type": "EMAIL", "value": "back@example.com"}],
                                   defaults={"first_name": "Back"}, source="shop")
        new_id, created = resolved.contact.pk, resolved.created
        assert [i.label for i in resolved.reassigned] == ["email"]
    assert created is True
    assert new_id != gone.pk
    new = Contact.objects.get(pk=new_id)
    alias = IdentityAlias.objects.get(value="back@example.com")
    assert (alias.contact_id, alias.is_primary, new.primary_email) == (
        new.pk, True, "back@example.com")
    # The deleted contact keeps its other identity, now primary, and its copy follows.
    gone.refresh_from_db()
    assert gone.primary_email == "other@example.com"
    assert list(IdentityAlias.objects.filter(contact=gone).values_list(
        "value", "is_primary")) == [("other@example.com", True)]
    moved = Activity.objects.get(type="IDENTITIES_REASSIGNED")
    assert (moved.contact_id, moved.title, moved.metadata) == (
        new.pk, "email", {"identities": ["email"], "from_contact": str(gone.pk)})
    entry = AuditLog.objects.get(action="contact.identities_released")
    assert (entry.entity_id, entry.changes) == (
        str(gone.pk), {"identities": ["email"], "to": str(new.pk)})
    assert audit_verify_chain(tenant=scoped).ok


@pytest.mark.parametrize("path", ["batch", "resolve"])
def test_a_live_contact_takes_a_deleted_contacts_identity(scoped, path):
    gone = _deleted(scoped, "shared@example.com")
    live = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Live"},
                          phones=["+12025550177"])
    identifiers = [{"type": "PHONE", "value": "+12025550177"},
                   {"type": "EMAIL", "value": "shared@example.com"}]
    if path == "batch":
        result = activities_ingest(tenant=scoped, actor=SYSTEM,
                                   items=[item("", 1, identifiers=identifiers)])[0]
        contact_id, conflicts = result.contact_id, result.conflicts
    else:
        resolved = contact_resolve(tenant=scoped, actor=SYSTEM, identifiers=identifiers)
        contact_id, conflicts = resolved.contact.pk, [c.pk for c in resolved.conflicts]
    # No duplicate candidate with the deleted contact: it no longer answers to the email.
    assert (contact_id, conflicts) == (live.pk, [])
    assert not DuplicateCandidate.objects.exists()
    assert IdentityAlias.objects.get(value="shared@example.com").contact_id == live.pk
    live.refresh_from_db()
    assert live.primary_email == "shared@example.com"
    assert Activity.objects.filter(type="IDENTITIES_REASSIGNED", contact=live).count() == 1
    assert IdentityAlias.objects.filter(contact=gone).count() == 1


def test_a_deleted_contact_named_by_id_still_takes_activities(scoped):
    gone = _deleted(scoped, "named@example.com")
    result = activities_ingest(tenant=scoped, actor=SYSTEM, items=[
        {"contact_id": str(gone.pk), "type": "NOTE", "source_event_id": "n-1"}])[0]
    assert (result.status, result.contact_id) == ("created", gone.pk)


# --- races -----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_batches_naming_the_same_new_people_make_one_contact_each(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    barrier = threading.Barrier(3)
    outcomes, errors = [], []

    def ingest(prefix):
        try:
            with tenant_scope(tenant):
                barrier.wait()
                outcomes.append(activities_ingest(
                    tenant=tenant, actor=SYSTEM,
                    items=[item(f"race{n}@example.com", n, source_event_id=f"{prefix}-{n}")
                           for n in range(20)]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ingest, args=(f"t{t}",)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with tenant_scope(tenant):
        assert Contact.objects.count() == 20
        assert Activity.objects.filter(type="TICKET_PURCHASED").count() == 60
        assert IdentityAlias.objects.count() == 20
        assert audit_verify_chain(tenant=tenant).ok
    assert sorted(sum(r.contact_created for r in batch) for batch in outcomes) == [0, 0, 20]
    assert all(r.status == "created" for batch in outcomes for r in batch)
