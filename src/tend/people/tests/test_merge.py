from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, CustomFieldDefinition, Tag
from tend.people.merging import register_merge_participant, unregister_merge_participant
from tend.people.models import (
    Activity,
    Company,
    Consent,
    ConsentEvent,
    Contact,
    ContactTag,
    DuplicateCandidate,
    IdentityAlias,
    IngestionLog,
    Interaction,
    Note,
    Task,
)
from tend.people.services.merge import contact_merge, merge_preview

SYSTEM = Actor.system()


def make(tenant, first, last, **fields):
    return Contact.objects.create(tenant=tenant, first_name=first, last_name=last,
                                  display_name=f"{first} {last}", **fields)


def alias(tenant, contact, type_, value, primary=False):
    return IdentityAlias.objects.create(tenant=tenant, contact=contact, type=type_, value=value,
                                        is_primary=primary)


@pytest.fixture
def pair(scoped):
    acme = Company.objects.create(tenant=scoped, name="Acme")
    CustomFieldDefinition.objects.create(tenant=scoped, entity_type="contact", key="member_no",
                                         label={"en": "Member no"}, field_type="text")
    CustomFieldDefinition.objects.create(tenant=scoped, entity_type="contact", key="shirt",
                                         label={"en": "Shirt"}, field_type="text")
    winner = make(scoped, "Sarah", "Mitchell", city="", custom={"member_no": "A1"},
                  primary_email="sarah@example.com")
    loser = make(scoped, "Sara", "Mitchel", city="London", company=acme,
                 custom={"member_no": "B2", "shirt": "M", "old": "kept"},
                 primary_email="sara@example.org",
                 primary_phone="+447700900123")
    return winner, loser


def test_merge_moves_every_kind_of_row(scoped, pair):
    winner, loser = pair
    now = timezone.now()
    alias(scoped, winner, "EMAIL", "sarah@example.com", primary=True)
    alias(scoped, loser, "EMAIL", "sara@example.org", primary=True)
    alias(scoped, loser, "PHONE", "+447700900123", primary=True)
    for contact, n in ((winner, 2), (loser, 3)):
        for i in range(n):
            Activity.objects.create(tenant=scoped, contact=contact, type=f"T{i}",
                                    occurred_at=now - timedelta(days=i))
        Note.objects.create(tenant=scoped, contact=contact, body="note")
        Interaction.objects.create(tenant=scoped, contact=contact, channel="PHONE",
                                   summary="call", occurred_at=now - timedelta(days=n))
        Task.objects.create(tenant=scoped, contact=contact, title="do")
        IngestionLog.objects.create(tenant=scoped, contact=contact, source_name="shop")
    # Consent: EMAIL newer on the loser (wins), SMS newer on the winner (stays), WhatsApp only
    # on the loser (moves).
    Consent.objects.create(tenant=scoped, contact=winner, channel="EMAIL", status="REVOKED",
                           changed_at=now - timedelta(days=5))
    Consent.objects.create(tenant=scoped, contact=loser, channel="EMAIL", status="GRANTED",
                           changed_at=now - timedelta(days=1))
    Consent.objects.create(tenant=scoped, contact=winner, channel="SMS", status="REVOKED",
                           changed_at=now - timedelta(days=1))
    Consent.objects.create(tenant=scoped, contact=loser, channel="SMS", status="GRANTED",
                           changed_at=now - timedelta(days=9))
    Consent.objects.create(tenant=scoped, contact=loser, channel="WHATSAPP", status="GRANTED")
    for contact in (winner, loser, loser):
        ConsentEvent.objects.create(tenant=scoped, contact=contact, channel="EMAIL",
                                    purpose="MARKETING", status="GRANTED")
    shared, own = (Tag.objects.create(tenant=scoped, name=n, slug=n) for n in ("vip", "golf"))
    ContactTag.objects.create(tenant=scoped, contact=winner, tag=shared)
    ContactTag.objects.create(tenant=scoped, contact=loser, tag=shared)
    ContactTag.objects.create(tenant=scoped, contact=loser, tag=own)
    third = make(scoped, "Sarah", "M", city="London")
    fourth = make(scoped, "S", "Mitchell")
    a, b = sorted([winner.pk, loser.pk])
    DuplicateCandidate.objects.create(tenant=scoped, contact_a_id=a, contact_b_id=b,
                                      match_type="NAME", score=90)
    for other in (third, fourth):
        x, y = sorted([loser.pk, other.pk])
        DuplicateCandidate.objects.create(tenant=scoped, contact_a_id=x, contact_b_id=y,
                                          match_type="NAME", score=80)
    x, y = sorted([winner.pk, fourth.pk])
    DuplicateCandidate.objects.create(tenant=scoped, contact_a_id=x, contact_b_id=y,
                                      match_type="NAME", score=81)

    merged = contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser,
                           field_choices={"last_name": "loser", "custom.member_no": "loser"})

    loser.refresh_from_db()
    assert (loser.status, loser.merged_into_id, loser.primary_email) == ("MERGED", winner.pk, "")
    assert loser.merged_at is not None
    assert (merged.first_name, merged.last_name, merged.display_name, merged.city,
            merged.company.name) == ("Sarah", "Mitchel", "Sarah Mitchel", "London", "Acme")
    # "old" has no field definition any more: kept as stored.
    assert merged.custom == {"member_no": "B2", "shirt": "M", "old": "kept"}
    assert (merged.primary_email, merged.primary_phone) == ("sarah@example.com",
                                                            "+447700900123")
    assert sorted(IdentityAlias.objects.filter(contact=winner).values_list(
        "type", "value", "is_primary")) == [
        ("EMAIL", "sara@example.org", False), ("EMAIL", "sarah@example.com", True),
        ("PHONE", "+447700900123", True)]
    counts = {model.__name__: (model.objects.filter(contact=winner).count(),
                               model.objects.filter(contact=loser).count())
              for model in (Note, Interaction, Task, IngestionLog, ConsentEvent)}
    assert counts == {"Note": (2, 0), "Interaction": (2, 0), "Task": (2, 0),
                      "IngestionLog": (2, 0), "ConsentEvent": (3, 0)}
    # 5 activities moved or kept, plus CONTACT_MERGED.
    assert Activity.objects.filter(contact=winner).count() == 6
    assert Activity.objects.filter(contact=loser).count() == 0
    assert sorted(Consent.objects.filter(contact=winner).values_list("channel", "status")) == [
        ("EMAIL", "GRANTED"), ("SMS", "REVOKED"), ("WHATSAPP", "GRANTED")]
    assert Consent.objects.filter(contact=loser).count() == 0
    assert (merged.email_opt_in, merged.sms_opt_in, merged.whatsapp_opt_in) == (
        True, False, True)
    assert sorted(ContactTag.objects.filter(contact=winner).values_list("tag__name", flat=True)
                  ) == ["golf", "vip"]
    assert ContactTag.objects.filter(contact=loser).count() == 0
    assert (merged.activity_count_30d, merged.last_activity_type) == (6, "CONTACT_MERGED")
    assert merged.last_contacted_at == now - timedelta(days=2)
    candidates = {frozenset({c.contact_a_id, c.contact_b_id}): c.resolution
                  for c in DuplicateCandidate.objects.all()}
    assert candidates == {frozenset({winner.pk, loser.pk}): "MERGED",
                          frozenset({winner.pk, third.pk}): "PENDING",
                          frozenset({winner.pk, fourth.pk}): "PENDING"}
    entry = AuditLog.objects.get(action="contact.merged")
    assert (entry.entity_id, entry.changes) == (
        str(winner.pk), {"merged_contact_id": str(loser.pk),
                         "fields_from_merged": ["city", "company", "custom.member_no",
                                                "custom.old", "custom.shirt", "last_name"]})
    activity = Activity.objects.get(type="CONTACT_MERGED")
    assert activity.metadata["merged_contact_id"] == str(loser.pk)


def test_registered_participant_moves_its_rows(scoped, pair):
    winner, loser = pair
    seen = []

    def follow(tenant, w, lost):
        seen.append((tenant.pk, w.pk, lost.pk))
        Note.objects.filter(contact=lost).update(contact=w, body="moved by module")

    Note.objects.create(tenant=scoped, contact=loser, body="x")
    register_merge_participant("test.module", follow)
    try:
        contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser)
    finally:
        unregister_merge_participant("test.module")
    assert seen == [(scoped.pk, winner.pk, loser.pk)]
    assert list(Note.objects.filter(contact=winner).values_list("body", flat=True)) == ["x"]


def test_failing_participant_rolls_the_merge_back(scoped, pair):
    winner, loser = pair

    def broken(tenant, w, lost):
        raise RuntimeError("boom")

    register_merge_participant("test.broken", broken)
    try:
        with pytest.raises(RuntimeError):
            contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser)
    finally:
        unregister_merge_participant("test.broken")
    loser.refresh_from_db()
    assert (loser.status, AuditLog.objects.filter(action="contact.merged").count()) == (
        "ACTIVE", 0)


def test_merge_refusals(scoped, pair, make_tenant):
    winner, loser = pair
    with pytest.raises(ValidationFailed) as err:
        contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=winner)
    assert list(err.value.fields) == ["loser_id"]
    with pytest.raises(ValidationFailed) as err:
        contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser,
                      field_choices={"city": "both", "password": "loser"})
    assert sorted(err.value.fields) == ["field_choices.city", "field_choices.password"]
    with pytest.raises(PermissionDenied):
        contact_merge(tenant=scoped, actor=Actor(kind="user", permissions=frozenset()),
                      winner=winner, loser=loser)
    Contact.objects.filter(pk=loser.pk).update(status="MERGED")
    loser.refresh_from_db()
    with pytest.raises(ValidationFailed) as err:
        contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser)
    assert list(err.value.fields) == ["loser_id"]
    other = make_tenant("Other", slug="other")
    stranger = Contact(tenant=other, first_name="X")
    with pytest.raises(ValidationFailed) as err:
        contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=stranger)
    assert list(err.value.fields) == ["loser_id"]


def test_preview_shows_both_values_and_defaults(scoped, pair):
    winner, loser = pair
    rows = {row["field"]: row for row in merge_preview(winner=winner, loser=loser)}
    assert rows["city"] == {"field": "city", "label": "city", "winner": "", "loser": "London",
                            "default": "loser", "differs": True}
    assert rows["first_name"]["default"] == "winner"
    assert rows["company"]["loser"] == "Acme"
    assert rows["custom.shirt"] == {"field": "custom.shirt", "label": "shirt", "winner": "",
                                    "loser": "M", "default": "loser", "differs": True}
