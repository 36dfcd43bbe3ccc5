import pytest

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import Job, JobStatus
from tend.people.models import Company, Contact, DuplicateCandidate, IdentityAlias
from tend.people.services.duplicates import (
    duplicate_detection_start,
    duplicate_resolve,
    duplicates_detect,
    duplicates_for_new_contact,
    email_key,
    name_keys,
    phone_key,
    soundex,
)

SYSTEM = Actor.system()


def person(tenant, first, last, *, city="", company=None, emails=(), phones=(), whatsapp=()):
    contact = Contact.objects.create(tenant=tenant, first_name=first, last_name=last,
                                     display_name=f"{first} {last}".strip(), city=city,
                                     company=company)
    for kind, values in (("EMAIL", emails), ("PHONE", phones), ("WHATSAPP", whatsapp)):
        for i, value in enumerate(values):
            IdentityAlias.objects.create(tenant=tenant, contact=contact, type=kind, value=value,
                                         is_primary=i == 0)
    if emails:
        contact.primary_email = emails[0]
    if phones:
        contact.primary_phone = phones[0]
    contact.save()
    return contact


def pairs():
    return {
        (frozenset({c.contact_a.first_name + " " + c.contact_a.last_name,
                    c.contact_b.first_name + " " + c.contact_b.last_name}),
         c.match_type, c.score, tuple(c.matched_fields))
        for c in DuplicateCandidate.objects.select_related("contact_a", "contact_b")
    }


@pytest.mark.parametrize(("raw", "key"), [
    ("J.Doe+news@Gmail.com", "jdoe@gmail.com"),
    ("jdoe@googlemail.com", "jdoe@gmail.com"),
    ("j.doe+x@example.com", "j.doe@example.com"),
    ("not-an-email", ""),
])
def test_email_key(raw, key):
    assert email_key(raw) == key


def test_phone_key_and_soundex_and_name_keys():
    assert phone_key("+971501234567") == phone_key("0501234567") == "501234567"
    assert phone_key("12345") == ""
    assert (soundex("Robert"), soundex("Rupert"), soundex("Tymczak"), soundex("عمر")) == (
        "R163", "R163", "T522", "")
    assert name_keys("Sarah", "Mitchell") == ["n:mitchell|s", "s:M324|s"]
    assert name_keys("", "", "Ana María López") == ["n:lopez|a", "s:L120|a"]
    assert name_keys("", "Solo") == []


@pytest.fixture
def fixture_contacts(scoped):
    acme = Company.objects.create(tenant=scoped, name="Acme Trading")
    people = {
        "layla": person(scoped, "Layla", "Haddad", city="Dubai",
                        emails=["layla.haddad@gmail.com"]),
        "laila": person(scoped, "Laila", "Haddad", city="Dubai",
                        emails=["laylahaddad+events@gmail.com"]),
        "omar": person(scoped, "Omar", "Farouk", phones=["+971501234567"]),
        "omar2": person(scoped, "Omar", "Farouq", whatsapp=["+971501234567"]),
        "sarah": person(scoped, "Sarah", "Mitchell", city="London", company=acme),
        "sara": person(scoped, "Sara", "Mitchell", city="London", company=acme),
        # Same last name and initial, different person: blocked together, scored out.
        "sam": person(scoped, "Samuel", "Mitchell", city="Leeds"),
        "other": person(scoped, "Noura", "Salem", city="Doha"),
    }
    return people


def test_detection_finds_exactly_the_likely_pairs(scoped, fixture_contacts):
    result = duplicates_detect(tenant=scoped)
    assert pairs() == {
        (frozenset({"Layla Haddad", "Laila Haddad"}), "EMAIL", 99, ("email", "name", "city")),
        (frozenset({"Omar Farouk", "Omar Farouq"}), "PHONE", 98, ("phone", "name")),
        (frozenset({"Sarah Mitchell", "Sara Mitchell"}), "NAME", 97,
         ("name", "company", "city")),
    }
    assert (result["contacts"], result["candidates"], result["created"]) == (8, 3, 3)
    assert all(c.contact_a_id < c.contact_b_id for c in DuplicateCandidate.objects.all())


def test_detection_is_idempotent_and_never_reopens_reviewed_pairs(scoped, fixture_contacts):
    duplicates_detect(tenant=scoped)
    email_pair = DuplicateCandidate.objects.get(match_type="EMAIL")
    duplicate_resolve(tenant=scoped, actor=SYSTEM, candidate=email_pair,
                      resolution="NOT_DUPLICATE")
    again = duplicates_detect(tenant=scoped)
    assert (again["created"], again["updated"]) == (0, 0)
    assert DuplicateCandidate.objects.count() == 3
    email_pair.refresh_from_db()
    assert email_pair.resolution == "NOT_DUPLICATE"


def test_merged_and_deleted_contacts_are_left_out(scoped, fixture_contacts):
    Contact.objects.filter(pk=fixture_contacts["laila"].pk).update(status="MERGED")
    Contact.objects.filter(pk=fixture_contacts["sara"].pk).update(status="DELETED")
    duplicates_detect(tenant=scoped)
    assert {c.match_type for c in DuplicateCandidate.objects.all()} == {"PHONE"}


def test_detection_job_reports_progress(scoped, fixture_contacts, owner,
                                        django_capture_on_commit_callbacks):
    from tend.core.selectors.access import actor_for_membership
    from tend.core.tests.apitools import membership_of

    actor = actor_for_membership(membership_of(scoped, owner))
    with django_capture_on_commit_callbacks(execute=True):
        job = duplicate_detection_start(tenant=scoped, actor=actor)
    job.refresh_from_db()  # the immediate task backend ran it on commit
    assert job.kind == "people.duplicates_detect"
    assert (job.status, job.progress, job.counts) == (
        JobStatus.SUCCEEDED, 100, {"pairs": job.total, "candidates": 3})
    assert job.result["created"] == 3
    assert Job.objects.filter(kind="people.duplicates_detect").count() == 1


def test_detection_start_needs_contacts_manage(scoped):
    viewer = Actor(kind="user", permissions=frozenset({"contacts.view"}))
    with pytest.raises(PermissionDenied):
        duplicate_detection_start(tenant=scoped, actor=viewer)


def test_on_create_check(scoped, fixture_contacts):
    acme = fixture_contacts["sarah"].company
    new = person(scoped, "Layla", "Hadad", emails=["LAYLA.HADDAD+x@gmail.com".lower()])
    found = duplicates_for_new_contact(new)
    assert [(f["contact_id"], f["score"], f["matched_fields"]) for f in found] == [
        (fixture_contacts["layla"].pk, 99, ["email", "name"]),
        (fixture_contacts["laila"].pk, 97, ["email", "name"]),
    ]
    # A phone of one contact that is the WhatsApp number of another.
    IdentityAlias.objects.filter(contact=fixture_contacts["omar2"]).update(value="+971509999999")
    by_phone = person(scoped, "O.", "F.", phones=["+971509999999"])
    assert [(f["contact_id"], f["matched_fields"]) for f in duplicates_for_new_contact(by_phone)
            ] == [(fixture_contacts["omar2"].pk, ["phone"])]
    similar = person(scoped, "Sarah", "Mitchell", city="Paris", company=acme)
    assert [(f["contact_id"], f["matched_fields"]) for f in duplicates_for_new_contact(similar)] \
        == [(fixture_contacts["sarah"].pk, ["name", "company"])]  # Sara's city lowers her
    nobody = person(scoped, "Zed", "Unique", city="Dubai")
    assert duplicates_for_new_contact(nobody) == []


def test_resolve_rules(scoped, fixture_contacts):
    duplicates_detect(tenant=scoped)
    candidate = DuplicateCandidate.objects.get(match_type="NAME")
    with pytest.raises(ValidationFailed) as err:
        duplicate_resolve(tenant=scoped, actor=SYSTEM, candidate=candidate, resolution="MERGED")
    assert list(err.value.fields) == ["resolution"]
    duplicate_resolve(tenant=scoped, actor=SYSTEM, candidate=candidate, resolution="IGNORED")
    candidate.refresh_from_db()
    assert candidate.resolution == "IGNORED" and candidate.resolved_at is not None
    DuplicateCandidate.objects.filter(pk=candidate.pk).update(resolution="MERGED")
    candidate.refresh_from_db()
    with pytest.raises(Conflict):
        duplicate_resolve(tenant=scoped, actor=SYSTEM, candidate=candidate,
                          resolution="PENDING")


def test_demo_loader_leaves_pairs_to_review(scoped, owner):
    import random

    from tend.core.demo import DemoContext
    from tend.core.selectors.access import actor_for_membership
    from tend.core.tests.apitools import membership_of
    from tend.people.demo_duplicates import load_duplicates_demo

    actor = actor_for_membership(membership_of(scoped, owner))
    ctx = DemoContext(tenant=scoped, owner=owner, actor=actor, password=None,
                      rng=random.Random(1))
    load_duplicates_demo(ctx)
    assert sorted((c.match_type, c.contact_a.last_name[:5])
                  for c in DuplicateCandidate.objects.select_related("contact_a")) == [
        ("EMAIL", "Hadda"), ("NAME", "Mitch"), ("PHONE", "Farou")]
    assert ctx.notes == ["Duplicates: 3 likely pairs to review."]
