from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.people.identities import normalize_alias
from tend.people.models import Activity, Contact
from tend.people.services.activities import activities_record_many, activity_record


@pytest.fixture
def contact(scoped):
    return Contact.objects.create(tenant=scoped, first_name="Lina", display_name="Lina")


def test_record_is_idempotent_by_source_event_id(scoped, contact):
    first, created = activity_record(tenant=scoped, actor=Actor.system(), contact=contact,
                                     type="ticket_purchased", source="shop", source_event_id="e1")
    again, created_again = activity_record(tenant=scoped, actor=Actor.system(), contact=contact,
                                           type="TICKET_PURCHASED", source="shop",
                                           source_event_id="e1")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Activity.objects.count() == 1
    contact.refresh_from_db()
    assert contact.last_activity_type == "TICKET_PURCHASED"
    assert (contact.activity_count_30d, contact.activity_count_90d) == (1, 1)


def test_old_event_does_not_rewind_last_activity(scoped, contact):
    now = timezone.now()
    activity_record(tenant=scoped, actor=Actor.system(), contact=contact, type="A",
                    occurred_at=now)
    activity_record(tenant=scoped, actor=Actor.system(), contact=contact, type="B",
                    occurred_at=now - timedelta(days=60))
    contact.refresh_from_db()
    assert (contact.last_activity_type, contact.activity_count_30d,
            contact.activity_count_90d) == ("A", 1, 2)


def test_record_many_skips_recorded_events_and_keeps_metrics(scoped, contact):
    other = Contact.objects.create(tenant=scoped, first_name="Omar", display_name="Omar")
    now = timezone.now()
    activity_record(tenant=scoped, actor=Actor.system(), contact=other, type="LATER",
                    occurred_at=now + timedelta(hours=1))
    rows = [
        {"tenant_id": scoped.pk, "contact_id": contact.pk, "type": "MESSAGE_SENT",
         "source": "outbox", "source_event_id": "m1", "occurred_at": now,
         "metadata": {"message": "m1"}, "title": "Hello"},
        {"tenant_id": scoped.pk, "contact_id": contact.pk, "type": "OLD",
         "source": "outbox", "source_event_id": "m2", "occurred_at": now - timedelta(days=60)},
        {"tenant_id": scoped.pk, "contact_id": other.pk, "type": "MESSAGE_SENT",
         "source": "outbox", "source_event_id": "m3", "occurred_at": now},
    ]
    assert activities_record_many(rows, now=now) == 3
    assert activities_record_many(rows, now=now) == 0  # already recorded: nothing twice
    first = Activity.objects.get(source_event_id="m1")
    assert (first.title, first.metadata, first.processed_at) == ("Hello", {"message": "m1"}, now)
    assert first.description == "" and first.company_id is None
    contact.refresh_from_db()
    assert (contact.last_activity_type, contact.last_activity_at, contact.activity_count_30d,
            contact.activity_count_90d) == ("MESSAGE_SENT", now, 1, 2)
    other.refresh_from_db()  # a later activity is not rewound
    assert (other.last_activity_type, other.activity_count_30d) == ("LATER", 2)


def test_activity_needs_a_subject(scoped):
    with pytest.raises(ValidationFailed) as err:
        activity_record(tenant=scoped, actor=Actor.system(), type="X")
    assert list(err.value.fields) == ["contact"]


@pytest.mark.parametrize(("type_", "raw", "region", "expected"), [
    ("EMAIL", "  Lina@EXAMPLE.com ", "US", "lina@example.com"),
    ("EMAIL", "a@bücher.de", "US", "a@xn--bcher-kva.de"),
    ("PHONE", "020 7946 0018", "GB", "+442079460018"),
    ("WHATSAPP", "+1 (202) 555-0143", "US", "+12025550143"),
    ("TELEGRAM", "@Lina_K", "US", "lina_k"),
    ("TELEGRAM", "123456789", "US", "123456789"),
])
def test_aliases_are_normalized(type_, raw, region, expected):
    assert normalize_alias(type_, raw, region=region) == expected


@pytest.mark.parametrize(("type_", "raw"), [("EMAIL", "not-an-email"), ("PHONE", "12"),
                                            ("EXTERNAL", "  ")])
def test_bad_aliases_are_refused(type_, raw):
    with pytest.raises(ValidationFailed):
        normalize_alias(type_, raw, region="US")
