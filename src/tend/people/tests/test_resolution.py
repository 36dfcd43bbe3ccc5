"""Identity resolution: none, one or several contacts matching; normalization; races."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.tenancy import tenant_scope
from tend.people.models import Activity, Contact, DuplicateCandidate, IdentityAlias
from tend.people.services.contacts import contact_create
from tend.people.services.resolution import contact_resolve

SYSTEM = Actor.system()


def _aliases(contact):
    return sorted(IdentityAlias.objects.filter(contact=contact)
                  .values_list("type", "system", "value", "is_primary"))


def test_nobody_matches_creates_a_contact_with_every_identifier(scoped):
    result = contact_resolve(
        tenant=scoped, actor=SYSTEM, source="shop",
        identifiers=[{"type": "email", "value": " Lina@Example.COM "},
                     {"type": "PHONE", "value": "(202) 555-0143"},
                     {"type": "EXTERNAL", "system": "shop", "value": "cust-9"}],
        defaults={"first_name": "Lina", "last_name": "Khoury"},
    )
    assert (result.created, result.conflicts, result.added) == (True, [], [])
    contact = Contact.objects.get()
    assert result.contact.pk == contact.pk
    assert (contact.display_name, contact.primary_email, contact.primary_phone,
            contact.source) == ("Lina Khoury", "lina@example.com", "+12025550143", "shop")
    assert _aliases(contact) == [
        ("EMAIL", "", "lina@example.com", True),
        ("EXTERNAL", "shop", "cust-9", True),
        ("PHONE", "", "+12025550143", True),
    ]
    assert list(Activity.objects.values_list("type", flat=True)) == ["CONTACT_CREATED"]


def test_phone_is_read_in_the_organizations_region(scoped):
    scoped.region = "GB"
    result = contact_resolve(tenant=scoped, actor=SYSTEM,
                             identifiers=[{"type": "PHONE", "value": "020 7946 0018"}])
    assert result.contact.primary_phone == "+442079460018"


def test_one_match_gets_the_missing_identifiers(scoped):
    contact = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Omar"},
                             emails=["omar@example.com"])
    result = contact_resolve(tenant=scoped, actor=SYSTEM, source="crm", identifiers=[
        {"type": "EMAIL", "value": "OMAR@example.com"},
        {"type": "TELEGRAM", "value": "@Omar_T"},
        {"type": "PHONE", "value": "+1 202 555 0199"},
    ])
    assert (result.contact.pk, result.created, result.conflicts) == (contact.pk, False, [])
    assert [i.label for i in result.added] == ["telegram", "phone"]
    assert _aliases(contact) == [
        ("EMAIL", "", "omar@example.com", True),
        ("PHONE", "", "+12025550199", True),
        ("TELEGRAM", "", "omar_t", True),
    ]
    contact.refresh_from_db()
    assert contact.primary_phone == "+12025550199"
    assert Contact.objects.count() == 1


def test_exact_match_changes_nothing(scoped, django_assert_num_queries):
    contact = contact_create(tenant=scoped, actor=SYSTEM, data={}, emails=["a@example.com"])
    with django_assert_num_queries(1):
        result = contact_resolve(tenant=scoped, actor=SYSTEM,
                                 identifiers=[{"type": "EMAIL", "value": "a@example.com"}])
    assert (result.contact.pk, result.created, result.added) == (contact.pk, False, [])


def test_identifiers_of_two_contacts_record_a_duplicate_and_attach_nothing(scoped):
    older = contact_create(tenant=scoped, actor=SYSTEM, data={}, emails=["x@example.com"])
    newer = contact_create(tenant=scoped, actor=SYSTEM, data={}, phones=["+12025550143"],
                           aliases=[{"type": "TELEGRAM", "value": "xx"}])
    identifiers = [{"type": "EMAIL", "value": "x@example.com"},
                   {"type": "PHONE", "value": "+12025550143"},
                   {"type": "TELEGRAM", "value": "xx"},
                   {"type": "WHATSAPP", "value": "+12025550100"}]
    result = contact_resolve(tenant=scoped, actor=SYSTEM, identifiers=identifiers)
    # The newer one holds two of the identifiers, so it wins over the older one.
    assert (result.contact.pk, result.created) == (newer.pk, False)
    assert [c.pk for c in result.conflicts] == [older.pk]
    pair = DuplicateCandidate.objects.get()
    a, b = sorted([older.pk, newer.pk])
    assert (pair.contact_a_id, pair.contact_b_id, pair.match_type, pair.score,
            pair.matched_fields, pair.resolution) == (
        a, b, "IDENTIFIERS", 100, ["email", "phone", "telegram"], "PENDING")
    assert not IdentityAlias.objects.filter(type="WHATSAPP").exists()
    # Resolving again does not add a second candidate.
    contact_resolve(tenant=scoped, actor=SYSTEM, identifiers=identifiers)
    assert DuplicateCandidate.objects.count() == 1


def test_equal_matches_go_to_the_oldest(scoped):
    older = contact_create(tenant=scoped, actor=SYSTEM, data={}, emails=["o@example.com"])
    contact_create(tenant=scoped, actor=SYSTEM, data={}, emails=["n@example.com"])
    result = contact_resolve(tenant=scoped, actor=SYSTEM, identifiers=[
        {"type": "EMAIL", "value": "n@example.com"}, {"type": "EMAIL", "value": "o@example.com"},
    ])
    assert result.contact.pk == older.pk


def test_bad_identifiers_are_reported_per_field(scoped):
    with pytest.raises(ValidationFailed) as err:
        contact_resolve(tenant=scoped, actor=SYSTEM, identifiers=[
            {"type": "EMAIL", "value": "nope"}, {"type": "FAX", "value": "1"},
            {"type": "EXTERNAL", "value": "7"}, {"type": "PHONE", "value": "12"},
        ])
    assert sorted(err.value.fields) == ["identifiers.0.value", "identifiers.1.type",
                                        "identifiers.2.system", "identifiers.3.value"]
    with pytest.raises(ValidationFailed) as err:
        contact_resolve(tenant=scoped, actor=SYSTEM, identifiers=[])
    assert list(err.value.fields) == ["identifiers"]
    assert Contact.objects.count() == 0


def test_creating_needs_contacts_add(scoped, owner):
    actor = Actor(kind="user", user=owner, permissions=frozenset({"activities.add"}))
    with pytest.raises(Exception) as err:
        contact_resolve(tenant=scoped, actor=actor,
                        identifiers=[{"type": "EMAIL", "value": "p@example.com"}])
    assert type(err.value).__name__ == "PermissionDenied"
    assert Contact.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_requests_for_the_same_new_person_make_one_contact(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    barrier = threading.Barrier(4)
    results, errors = [], []

    def resolve():
        try:
            with tenant_scope(tenant):
                barrier.wait()
                results.append(contact_resolve(
                    tenant=tenant, actor=SYSTEM,
                    identifiers=[{"type": "EMAIL", "value": "race@example.com"},
                                 {"type": "PHONE", "value": "+12025550143"}]))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=resolve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with tenant_scope(tenant):
        assert Contact.objects.count() == 1
        contact = Contact.objects.get()
        assert IdentityAlias.objects.filter(contact=contact).count() == 2
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert {r.contact.pk for r in results} == {contact.pk}
