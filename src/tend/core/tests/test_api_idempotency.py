"""`Idempotency-Key` on POST: replay, mismatch, in-flight, expiry, per-principal scope."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tend.core.errors import Conflict
from tend.core.models import AuditLog, IdempotencyRecord
from tend.core.services.idempotency import (
    idempotency_begin,
    idempotency_prune,
    idempotency_request_hash,
)
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.tests import api_probe
from tend.core.tests.apitools import bearer, make_key, signed_in

pytestmark = pytest.mark.urls("tend.core.tests.api_probe")

NOTES = "/probe/notes"


@pytest.fixture
def session(tenant, owner):
    return signed_in(owner, tenant)


def _post(client, body, key="key-1", path=NOTES, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def _audit_count(tenant):
    with tenant_scope(tenant):
        return AuditLog.objects.filter(action__startswith="probe.").count()


def _records(tenant):
    with tenant_scope(tenant):
        return list(IdempotencyRecord.objects.values_list("key", "response_status"))


def test_same_key_and_body_replays_the_first_response(session, tenant):
    first = _post(session, {"text": "hello"})
    again = _post(session, {"text": "hello"})

    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert _audit_count(tenant) == 1
    assert _records(tenant) == [("key-1", 201)]


@pytest.mark.parametrize(("body", "path"), [
    ({"text": "other"}, NOTES),
    ({"text": "hello", "count": 2}, NOTES),
    ({"text": "hello"}, "/probe/fail-after-claim"),
])
def test_same_key_for_another_request_is_422(session, tenant, body, path):
    _post(session, {"text": "hello"})

    response = _post(session, body, path=path)

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "Idempotency-Key",
                                          "loc": ["Idempotency-Key"],
                                          "message": "Already used for a different request."}]
    assert _audit_count(tenant) == 1


def test_a_request_still_in_flight_is_409(session, tenant, owner):
    body = json.dumps({"text": "hello"}).encode()
    with tenant_scope(tenant):
        idempotency_begin(
            tenant=tenant, principal=f"user:{owner.pk}", key="key-1", method="POST", path=NOTES,
            request_hash=idempotency_request_hash(method="POST", path=NOTES, body=body),
        )

    response = session.post(NOTES, body, content_type="application/json",
                            headers={"Idempotency-Key": "key-1"})

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
    assert _audit_count(tenant) == 0


def test_an_abandoned_claim_is_given_up_after_ten_minutes(session, tenant, owner):
    body = json.dumps({"text": "hello"}).encode()
    with tenant_scope(tenant):
        claim = idempotency_begin(
            tenant=tenant, principal=f"user:{owner.pk}", key="key-1", method="POST", path=NOTES,
            request_hash=idempotency_request_hash(method="POST", path=NOTES, body=body),
        )
        IdempotencyRecord.objects.filter(pk=claim.record.pk).update(
            created_at=timezone.now() - timedelta(minutes=11))

    response = session.post(NOTES, body, content_type="application/json",
                            headers={"Idempotency-Key": "key-1"})

    assert response.status_code == 201
    assert _audit_count(tenant) == 1


def test_after_24_hours_the_key_is_new_again(session, tenant):
    first = _post(session, {"text": "hello"})
    with tenant_scope(tenant):
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    again = _post(session, {"text": "other body is fine now"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in again
    assert _audit_count(tenant) == 2


def test_keys_belong_to_one_principal(session, tenant, owner):
    _, secret = make_key(tenant, owner, ["audit.view"])
    by_user = _post(session, {"text": "hello"})
    by_key = _post(Client(), {"text": "hello"}, **bearer(secret))

    assert (by_user.status_code, by_key.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in by_key
    assert by_key.json()["seq"] == by_user.json()["seq"] + 1
    assert _audit_count(tenant) == 2


def test_client_errors_of_the_endpoint_are_replayed_too(session, tenant):
    first = _post(session, {}, path="/probe/fail-after-claim")
    again = _post(session, {}, path="/probe/fail-after-claim")

    assert first.status_code == again.status_code == 422
    assert again.content == first.content
    assert again["Content-Type"] == "application/problem+json"
    assert again["Idempotent-Replayed"] == "true"


def test_server_errors_release_the_key(session, tenant):
    response = _post(session, {}, path="/probe/explode")
    assert response.status_code == 500
    assert _records(tenant) == []
    assert _post(session, {}, path="/probe/explode").status_code == 500  # runs again, not 409


@pytest.mark.parametrize("body", [{"count": 1}, "not json"])
def test_input_that_does_not_validate_claims_nothing(session, tenant, body):
    raw = body if isinstance(body, str) else json.dumps(body)
    response = session.post(NOTES, raw, content_type="application/json",
                            headers={"Idempotency-Key": "key-1"})
    assert response.status_code in (400, 422)
    assert _records(tenant) == []


def test_refused_credentials_claim_nothing(tenant):
    response = _post(Client(), {"text": "hello"})
    assert response.status_code == 401
    with system_scope():
        assert IdempotencyRecord.objects.count() == 0


def test_without_the_header_nothing_is_stored(session, tenant):
    assert _post(session, {"text": "a"}, key=None).status_code == 201
    assert _post(session, {"text": "a"}, key=None).status_code == 201
    assert _audit_count(tenant) == 2
    assert _records(tenant) == []


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tinside"])
def test_malformed_keys_are_422(session, tenant, key):
    response = _post(session, {"text": "hello"}, key=key)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert _audit_count(tenant) == 0


def test_endpoints_showing_secrets_refuse_the_header(session):
    response = _post(session, {}, path="/probe/secret")
    assert response.status_code == 422
    assert response.json()["errors"][0]["message"] == "Not supported by this endpoint."
    assert _post(session, {}, key=None, path="/probe/secret").json() == {"secret": "shown once"}


def test_prune_drops_records_older_than_a_day_in_every_tenant(make_tenant, tenant, owner):
    other = make_tenant("Other", slug="other", owner=owner)
    for org in (tenant, other):
        with tenant_scope(org):
            for age, name in ((25, "old"), (23, "young")):
                record = IdempotencyRecord.objects.create(
                    tenant=org, principal="user:x", key=name, method="POST", path="/p",
                    request_hash="h", response_status=201)
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    created_at=timezone.now() - timedelta(hours=age))

    assert idempotency_prune() == 2

    with system_scope():
        left = sorted(IdempotencyRecord.objects.values_list("key", flat=True))
    assert left == ["young", "young"]


def test_prune_is_a_registered_periodic_job():
    from tend.core.periodic import periodic_jobs

    assert "core.prune_idempotency_keys" in [job.name for job in periodic_jobs()]


# --- concurrency: the unique constraint decides ---------------------------------------------------


def _in_thread(func):
    def run(*args):
        try:
            return func(*args)
        finally:
            connection.close()
    return run


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_key_let_exactly_one_through(make_tenant, owner):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # Shared-cache in-memory SQLite answers "table is locked" at once instead of waiting
        # on the busy timeout; the file database Tend runs on (and PostgreSQL) queue writers.
        pytest.skip("needs a database that queues concurrent writers")
    tenant = make_tenant("Race Club", slug="race", owner=owner)
    request_hash = idempotency_request_hash(method="POST", path=NOTES, body=b"{}")
    barrier = threading.Barrier(6)

    @_in_thread
    def claim(_):
        barrier.wait(timeout=10)
        with tenant_scope(tenant):
            try:
                return idempotency_begin(tenant=tenant, principal="user:racer", key="same",
                                         method="POST", path=NOTES,
                                         request_hash=request_hash).replay
            except Conflict:
                return "conflict"

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(pool.map(claim, range(6)))

    assert sorted(outcomes, key=str) == [False, *["conflict"] * 5]
    with tenant_scope(tenant):
        assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_repeat_during_the_first_request_gets_409_then_the_replay(make_tenant, owner):
    tenant = make_tenant("Race Club", slug="race", owner=owner)
    api_probe.slow_entered.clear()
    api_probe.slow_release.clear()

    @_in_thread
    def first():
        return _post(signed_in(owner, tenant), {"text": "slow"}, path="/probe/slow")

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(first)
        assert api_probe.slow_entered.wait(timeout=10)
        during = _post(signed_in(owner, tenant), {"text": "slow"}, path="/probe/slow")
        api_probe.slow_release.set()
        done = running.result(timeout=10)
    after = _post(signed_in(owner, tenant), {"text": "slow"}, path="/probe/slow")

    assert (done.status_code, during.status_code, after.status_code) == (201, 409, 201)
    assert after.content == done.content
    assert after["Idempotent-Replayed"] == "true"
    assert _audit_count(tenant) == 1
