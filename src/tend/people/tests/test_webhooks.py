"""The signed inbound webhook: POST /hooks/sources/<key>."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.test import Client

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.tenancy import tenant_scope
from tend.people.models import Activity, Contact, IngestionLog, IngestionSource
from tend.people.services.sources import (
    signature_compute,
    source_create,
    source_deactivate,
    source_rotate_secret,
)
from tend.people.tests.ingesttools import deliver

BOOKING = {"identifiers": [{"type": "EMAIL", "value": "Guest@Example.com"}],
           "type": "booking_confirmed", "category": "BOOKING", "title": "Court 2",
           "source_event_id": "b-1"}


@pytest.fixture
def hook(tenant):
    with tenant_scope(tenant):
        source, secret = source_create(tenant=tenant, actor=Actor.system(), name="Booking system")
    return source, secret


def _counts(tenant):
    with tenant_scope(tenant):
        return (Activity.objects.count(), Contact.objects.count(), IngestionLog.objects.count())


def test_a_signed_delivery_is_stored(hook, tenant):
    source, secret = hook
    response = deliver(Client(), source.key, secret, BOOKING)
    assert response.status_code == 200, response.content
    body = response.json()
    with tenant_scope(tenant):
        activity = Activity.objects.select_related("contact").get(type="BOOKING_CONFIRMED")
        log = IngestionLog.objects.get()
        source.refresh_from_db()
    assert (body["status"], body["activity_id"], body["contact_created"]) == (
        "created", str(activity.pk), True)
    assert (activity.source, activity.source_event_id, activity.actor_label,
            activity.contact.primary_email) == (
        "Booking system", "b-1", "source Booking system", "guest@example.com")
    assert (log.source_id, log.source_name, log.status, log.attempts) == (
        source.pk, "Booking system", "PROCESSED", 1)
    assert source.last_received_at is not None


def test_the_same_event_twice_makes_one_activity(hook, tenant):
    source, secret = hook
    first = deliver(Client(), source.key, secret, BOOKING).json()
    second = deliver(Client(), source.key, secret, BOOKING).json()
    assert (second["status"], second["activity_id"]) == ("duplicate", first["activity_id"])
    with tenant_scope(tenant):
        assert Activity.objects.filter(type="BOOKING_CONFIRMED").count() == 1
        log = IngestionLog.objects.get()
    assert (log.status, log.attempts) == ("PROCESSED", 2)


def test_a_batch_answers_per_item(hook):
    source, secret = hook
    body = {"items": [BOOKING, {**BOOKING, "source_event_id": "b-2"},
                      {**BOOKING, "identifiers": [{"type": "EMAIL", "value": "x"}],
                       "source_event_id": "b-3"}]}
    answer = deliver(Client(), source.key, secret, body).json()
    assert answer["counts"] == {"created": 2, "duplicate": 0, "error": 1}
    assert answer["items"][2]["errors"][0]["field"] == "identifiers.0.value"


@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "md5=abc"])
def test_bad_or_missing_signature_is_refused_and_nothing_stored(hook, tenant, signature):
    source, secret = hook
    before = _counts(tenant)
    response = deliver(Client(), source.key, secret, BOOKING, signature=signature)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "bad_signature"
    assert _counts(tenant) == before


def test_missing_headers_are_refused(hook, tenant):
    source, _secret = hook
    response = Client().post(f"/hooks/sources/{source.key}", data=json.dumps(BOOKING),
                             content_type="application/json")
    assert response.status_code == 403
    assert _counts(tenant) == (0, 0, 0)


def test_a_body_changed_after_signing_is_refused(hook, tenant):
    source, secret = hook
    stamp = str(int(time.time()))
    signed = json.dumps(BOOKING).encode()
    response = Client().post(
        f"/hooks/sources/{source.key}", data=signed.replace(b"Court 2", b"Court 9"),
        content_type="application/json", HTTP_X_TEND_TIMESTAMP=stamp,
        HTTP_X_TEND_SIGNATURE=signature_compute(secret, stamp, signed))
    assert response.status_code == 403
    assert _counts(tenant) == (0, 0, 0)


def test_a_stale_timestamp_is_refused(hook, tenant):
    source, secret = hook
    response = deliver(Client(), source.key, secret, BOOKING, timestamp=int(time.time()) - 301)
    assert response.status_code == 403
    assert response.json()["code"] == "stale_timestamp"
    assert deliver(Client(), source.key, secret, BOOKING,
                   timestamp=int(time.time()) + 3600).status_code == 403
    assert deliver(Client(), source.key, secret, BOOKING,
                   timestamp=int(time.time()) - 240).status_code == 200


def test_unknown_inactive_and_rotated_sources_are_refused(hook, tenant):
    source, secret = hook
    assert deliver(Client(), "no-such-key", secret, BOOKING).status_code == 403
    with tenant_scope(tenant):
        _source, new_secret = source_rotate_secret(tenant=tenant, actor=Actor.system(),
                                                   source=source)
    assert deliver(Client(), source.key, secret, BOOKING).status_code == 403
    assert deliver(Client(), source.key, new_secret, BOOKING).status_code == 200
    with tenant_scope(tenant):
        source_deactivate(tenant=tenant, actor=Actor.system(), source=source)
    assert deliver(Client(), source.key, new_secret,
                   {**BOOKING, "source_event_id": "b-9"}).status_code == 403
    assert _counts(tenant)[0] == 2  # CONTACT_CREATED and the one accepted booking


def test_malformed_json_and_oversized_bodies(hook, tenant):
    source, secret = hook
    response = deliver(Client(), source.key, secret, None, raw=b"{not json")
    assert response.status_code == 400
    big = b'{"type": "X", "description": "' + b"a" * (1024 * 1024) + b'"}'
    response = deliver(Client(), source.key, secret, None, raw=big)
    assert response.status_code == 413
    assert _counts(tenant) == (0, 0, 0)


def test_only_post(hook):
    source, _secret = hook
    assert Client().get(f"/hooks/sources/{source.key}").status_code == 405


def test_secret_is_stored_encrypted(hook, tenant):
    _source, secret = hook
    with tenant_scope(tenant):
        stored = IngestionSource.objects.get().secret_encrypted
        entry = AuditLog.objects.filter(action="ingestion_source.created").get()
    assert secret.startswith("whsec_")
    assert secret not in stored
    assert secret not in json.dumps(entry.changes)


def test_an_inactive_organization_refuses_deliveries(hook, tenant):
    from tend.core.tenancy import system_scope

    source, secret = hook
    with system_scope():
        type(tenant).objects.filter(pk=tenant.pk).update(is_active=False)
    assert deliver(Client(), source.key, secret, BOOKING).status_code == 403
    assert _counts(tenant) == (0, 0, 0)


def test_a_source_over_its_rate_gets_429_until_the_window_ends(hook, tenant, settings):
    from tend.ratelimit.models import RateWindow

    settings.TEND_INGEST_RATE_PER_MINUTE = 2
    source, secret = hook
    for n in range(2):
        assert deliver(Client(), source.key, secret,
                       {**BOOKING, "source_event_id": f"r-{n}"}).status_code == 200
    refused = deliver(Client(), source.key, secret, {**BOOKING, "source_event_id": "r-2"})
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert _counts(tenant)[0] == 3  # CONTACT_CREATED and two bookings: nothing of the third
    # A bad signature is refused before it counts.
    assert deliver(Client(), source.key, "wrong", BOOKING).status_code == 403
    # The next window: the counter starts again.
    with tenant_scope(tenant):
        window = RateWindow.objects.get(scope=f"source:{source.pk}")
        RateWindow.objects.filter(pk=window.pk).update(
            window_start=window.window_start - timedelta(minutes=1))
    assert deliver(Client(), source.key, secret,
                   {**BOOKING, "source_event_id": "r-2"}).status_code == 200
    with tenant_scope(tenant):
        assert RateWindow.objects.get(pk=window.pk).count == 1
