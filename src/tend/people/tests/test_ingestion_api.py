"""API: POST /activities (one or a batch) and GET /activities."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key, signed_in
from tend.people.models import Activity, Contact, IdentityAlias, IngestionLog
from tend.people.services.contacts import contact_create


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


def post(client, data, headers=None):
    return client.post("/api/v1/activities", data=json.dumps(data),
                       content_type="application/json", headers=headers)


def item(n, **over):
    base = {"identifiers": [{"type": "EMAIL", "value": f"guest{n}@example.com"}],
            "type": "ticket_purchased", "category": "events", "title": f"Ticket {n}",
            "metadata": {"n": n}, "occurred_at": "2026-01-05T10:00:00Z", "source": "shop",
            "source_event_id": f"order-{n}"}
    base.update(over)
    return base


def test_one_activity_creates_the_contact_and_the_activity(api, tenant):
    response = post(api, item(1, contact={"first_name": "Rana"}))
    assert response.status_code == 201, response.content
    body = response.json()
    with tenant_scope(tenant):
        activity = Activity.objects.get(type="TICKET_PURCHASED")
        contact = Contact.objects.get()
        log = IngestionLog.objects.get()
    assert body == {"index": 0, "status": "created", "activity_id": str(activity.pk),
                    "contact_id": str(contact.pk), "contact_created": True, "conflicts": [],
                    "errors": []}
    assert (activity.category, activity.title, activity.metadata, activity.source,
            activity.source_event_id, activity.occurred_at.isoformat()) == (
        "EVENTS", "Ticket 1", {"n": 1}, "shop", "order-1", "2026-01-05T10:00:00+00:00")
    assert (contact.display_name, contact.primary_email) == ("Rana", "guest1@example.com")
    assert (log.status, log.attempts, log.source_name, log.source_event_id, log.contact_id,
            log.activity_id, log.error) == ("PROCESSED", 1, "api", "order-1", contact.pk,
                                            activity.pk, "")


def test_replaying_one_activity_is_a_duplicate(api, tenant):
    first = post(api, item(1)).json()
    again = post(api, item(1))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["activity_id"] == first["activity_id"]
    with tenant_scope(tenant):
        assert Activity.objects.filter(type="TICKET_PURCHASED").count() == 1
        log = IngestionLog.objects.get()
    assert (log.status, log.attempts) == ("PROCESSED", 2)


def test_one_bad_activity_is_a_422_with_field_errors(api, tenant):
    response = post(api, {"identifiers": [{"type": "EMAIL", "value": "nope"}], "type": "",
                          "occurred_at": "yesterday", "colour": "red"})
    assert response.status_code == 422
    body = response.json()
    assert sorted(e["field"] for e in body["errors"]) == ["colour", "occurred_at", "type"]
    with tenant_scope(tenant):
        assert (Contact.objects.count(), IngestionLog.objects.count()) == (0, 0)


def test_batch_with_good_bad_and_duplicate_items(api, tenant, owner):
    with tenant_scope(tenant):
        known = contact_create(tenant=tenant, actor=Actor.system(), data={"first_name": "K"},
                               emails=["guest2@example.com"])
    post(api, item(3))  # already recorded: the batch's copy is a duplicate
    batch = {"items": [
        item(1),
        item(2),
        item(3),
        {"identifiers": [{"type": "EMAIL", "value": "guest4@example.com"},
                         {"type": "PHONE", "value": "12"}], "type": "X",
         "source_event_id": "order-4"},
        item(5, contact_id=str(known.pk), identifiers=None),
        item(6, identifiers=None, contact_id="0190a0a0-0000-7000-8000-000000000000"),
        "not an object",
        item(1),  # the same event twice in one batch
    ]}
    response = post(api, batch)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["counts"] == {"created": 3, "duplicate": 2, "error": 3}
    assert [r["status"] for r in body["items"]] == [
        "created", "created", "duplicate", "error", "created", "error", "error", "duplicate"]
    assert body["items"][1]["contact_id"] == str(known.pk)
    assert body["items"][1]["contact_created"] is False
    assert body["items"][3]["errors"] == [{"field": "identifiers.1.value",
                                           "message": "This phone number is not valid."}]
    assert body["items"][5]["errors"] == [{"field": "contact_id",
                                           "message": "No such contact."}]
    assert body["items"][6]["errors"][0]["field"] == "item"
    assert body["items"][7]["activity_id"] == body["items"][0]["activity_id"]
    with tenant_scope(tenant):
        # Nothing of the bad item 4 was written: no contact for guest4, no alias.
        assert not IdentityAlias.objects.filter(value="guest4@example.com").exists()
        assert Activity.objects.filter(type="TICKET_PURCHASED").count() == 4
        statuses = sorted(IngestionLog.objects.values_list("source_event_id", "status",
                                                           "attempts"))
    assert statuses == [("", "FAILED", 1), ("order-1", "PROCESSED", 2),
                        ("order-2", "PROCESSED", 1), ("order-3", "PROCESSED", 2),
                        ("order-4", "FAILED", 1), ("order-5", "PROCESSED", 1),
                        ("order-6", "FAILED", 1)]


def test_batch_replay_is_idempotent(api, tenant):
    batch = {"items": [item(n) for n in range(5)]}
    assert post(api, batch).json()["counts"] == {"created": 5, "duplicate": 0, "error": 0}
    assert post(api, batch).json()["counts"] == {"created": 0, "duplicate": 5, "error": 0}
    with tenant_scope(tenant):
        assert Activity.objects.filter(type="TICKET_PURCHASED").count() == 5
        assert Contact.objects.count() == 5


def test_a_full_batch_of_1000(api, tenant):
    with tenant_scope(tenant):
        contact = contact_create(tenant=tenant, actor=Actor.system(), data={"first_name": "F"})
    batch = {"items": [{"contact_id": str(contact.pk), "type": "PAGE_VIEWED",
                        "source": "web" if n % 2 else "app", "source_event_id": f"v-{n}"}
                       for n in range(1000)]}
    assert post(api, batch).json()["counts"] == {"created": 1000, "duplicate": 0, "error": 0}
    assert post(api, batch).json()["counts"] == {"created": 0, "duplicate": 1000, "error": 0}
    with tenant_scope(tenant):
        assert IngestionLog.objects.filter(attempts=2).count() == 1000


def test_batch_limits(api, tenant):
    response = post(api, {"items": [item(n) for n in range(1001)]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["items"]
    assert post(api, {"items": []}).status_code == 422
    bad_json = api.post("/api/v1/activities", data="{nope", content_type="application/json")
    assert bad_json.status_code == 400
    assert bad_json["Content-Type"] == "application/problem+json"
    with tenant_scope(tenant):
        assert IngestionLog.objects.count() == 0


def test_large_batch_uses_few_queries_per_item(api, tenant, django_assert_max_num_queries):
    post(api, item(0))  # warm up sessions and the first contact
    batch = {"items": [item(n) for n in range(1, 101)]}
    # New contacts each: resolve, create (contact, alias, audit, activity), record, log.
    # A new person goes through contact_create (its alias checks, audit entry and
    # CONTACT_CREATED activity): about 30 queries each (31 with row-level security).
    with django_assert_max_num_queries(100 * 32):
        assert post(api, batch).json()["counts"]["created"] == 100
    # Known people: lookup, savepoints, activity check + insert, metric updates (8 each),
    # plus the request's own and the batch's fixed queries.
    repeat = {"items": [item(n, source_event_id=f"again-{n}") for n in range(1, 101)]}
    with django_assert_max_num_queries(100 * 8 + 15):
        assert post(api, repeat).json()["counts"]["created"] == 100
    # A replay: every event is found by one query, nothing is processed per item (one more
    # query when the post opens a new rate-limit window, at a minute boundary).
    with django_assert_max_num_queries(15):
        assert post(api, repeat).json()["counts"]["duplicate"] == 100


def test_posting_needs_activities_add(tenant, owner):
    _key, secret = make_key(tenant, owner, ["activities.view"])
    response = post(Client(), item(1), bearer(secret))
    assert response.status_code == 403
    _key, secret = make_key(tenant, owner, ["activities.add"], name="no contacts")
    response = post(Client(), item(1), bearer(secret))
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "You do not have permission to do this."


def test_list_with_filters_and_cursor(api, tenant, django_assert_max_num_queries):
    now = timezone.now()
    post(api, {"items": [
        item(1, occurred_at=(now - timedelta(days=3)).isoformat()),
        item(2, type="PAGE_VIEWED", category="ENGAGEMENT",
             occurred_at=(now - timedelta(days=1)).isoformat()),
        item(3, occurred_at=(now - timedelta(days=10)).isoformat()),
    ]})
    with django_assert_max_num_queries(10):
        body = api.get("/api/v1/activities", {"type": "ticket_purchased", "limit": 1}).json()
    assert [a["title"] for a in body["items"]] == ["Ticket 1"]
    body = api.get("/api/v1/activities", {"type": "TICKET_PURCHASED", "limit": 1,
                                          "cursor": body["next_cursor"]}).json()
    assert ([a["title"] for a in body["items"]], body["next_cursor"]) == (["Ticket 3"], None)
    since = (now - timedelta(days=5)).isoformat()
    body = api.get("/api/v1/activities", {"since": since, "type": "TICKET_PURCHASED"}).json()
    assert [a["title"] for a in body["items"]] == ["Ticket 1"]
    body = api.get("/api/v1/activities", {"category": "engagement"}).json()
    assert [a["type"] for a in body["items"]] == ["PAGE_VIEWED"]
    contact_id = api.get("/api/v1/activities", {"type": "PAGE_VIEWED"}).json()[
        "items"][0]["contact_id"]
    body = api.get("/api/v1/activities", {"contact": contact_id}).json()
    assert sorted(a["type"] for a in body["items"]) == ["CONTACT_CREATED", "PAGE_VIEWED"]
    assert api.get("/api/v1/activities", {"since": "soon"}).status_code == 422


def test_posting_over_the_rate_is_429_per_key(tenant, owner, settings):
    settings.TEND_INGEST_RATE_PER_MINUTE = 1
    _key, first = make_key(tenant, owner, ["activities.add", "contacts.add"], name="one")
    _key, second = make_key(tenant, owner, ["activities.add", "contacts.add"], name="two")
    assert post(Client(), item(1), bearer(first)).status_code == 201
    refused = post(Client(), item(2), bearer(first))
    assert refused.status_code == 429
    assert (refused.json()["code"], refused["Retry-After"].isdigit()) == ("throttled", True)
    assert post(Client(), item(2), bearer(second)).status_code == 201
