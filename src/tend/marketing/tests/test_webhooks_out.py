"""Outbound webhooks against a local receiver: events from people and messaging become
signed deliveries; failures retry with capped backoff; too many in a row switch the
subscription off and tell the admins; test events, redelivery and the API."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import Notification
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key
from tend.marketing.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tend.marketing.services import webhooks_out as svc
from tend.marketing.tests.webhook_receiver import FakeReceiver
from tend.messaging.fakes import EndlessAnswer
from tend.messaging.fakes.base import Response
from tend.people.services.contacts import contact_create, contact_update

SYSTEM = Actor.system()
API = "/api/v1"
J = "application/json"


@pytest.fixture
def receiver():
    with FakeReceiver() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_cache():
    svc._listening.clear()
    yield
    svc._listening.clear()


def subscribe(tenant, url, events=("contact.created",)):
    with tenant_scope(tenant):
        return svc.webhook_subscription_create(tenant=tenant, actor=SYSTEM, data={
            "name": "Booking", "url": url, "event_types": list(events)})


def test_contact_created_is_delivered_signed(scoped, receiver,
                                             django_capture_on_commit_callbacks):
    sub, secret = subscribe(scoped, receiver.url + "/in")
    with django_capture_on_commit_callbacks(execute=True):
        ada = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Ada"},
                             emails=["ada@example.net"])
    [request] = receiver.requests()
    assert request.method == "POST" and request.path == "/in"
    assert FakeReceiver.signature_ok(request, secret)
    assert request.headers["x-tend-event"] == "contact.created"
    body = json.loads(request.body)
    assert (body["type"], body["organization"]) == ("contact.created", "acme")
    assert body["data"]["contact"]["id"] == str(ada.pk)
    assert body["data"]["contact"]["primary_email"] == "ada@example.net"
    assert request.headers["x-tend-delivery"] == body["id"]
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert (delivery.status, delivery.attempt, delivery.response_code) == (
        DeliveryStatus.SUCCEEDED, 1, 200)
    assert delivery.response_body == '{"received":true}'


def test_only_listened_events_make_deliveries(scoped, receiver,
                                              django_capture_on_commit_callbacks):
    subscribe(scoped, receiver.url, events=("contact.updated",))
    with django_capture_on_commit_callbacks(execute=True):
        ada = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Ada"})
    assert WebhookDelivery.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(tenant=scoped, actor=SYSTEM, contact=ada, data={"city": "Dubai"})
    [delivery] = WebhookDelivery.objects.all()
    assert delivery.event_type == "contact.updated"
    assert delivery.payload["data"]["contact"]["id"] == str(ada.pk)
    assert delivery.payload["data"]["fields"] == ["city"]
    assert svc.webhook_emit(tenant=scoped, key="message.status", payload={}) == 0


def test_failures_retry_with_backoff_then_succeed(scoped, receiver):
    sub, _secret = subscribe(scoped, receiver.url)
    receiver.script(Response.json(500, {"error": "down"}), Response.json(503, {}))
    svc.webhook_emit(tenant=scoped, key="contact.created", payload={"n": 1})
    assert svc.webhooks_deliver_due(tenant=scoped) == 1
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert (delivery.status, delivery.attempt, delivery.response_code) == (
        DeliveryStatus.PENDING, 1, 500)
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=30)
    assert svc.webhooks_deliver_due(tenant=scoped) == 0  # not due yet
    later = delivery.next_attempt_at + timedelta(seconds=1)
    assert svc.webhooks_deliver_due(tenant=scoped, now=later) == 1
    delivery.refresh_from_db()
    assert (delivery.attempt, delivery.response_code) == (2, 503)
    assert delivery.next_attempt_at - delivery.last_attempt_at == timedelta(seconds=60)
    svc.webhooks_deliver_due(tenant=scoped, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt) == (DeliveryStatus.SUCCEEDED, 3)
    sub.refresh_from_db()
    assert sub.failure_count == 0 and sub.last_success_at is not None
    assert len(receiver.requests()) == 3
    assert len({r.headers["x-tend-delivery"] for r in receiver.requests()}) == 1


def test_backoff_is_capped():
    assert svc.backoff(1) == timedelta(seconds=30)
    assert svc.backoff(4) == timedelta(seconds=240)
    assert svc.backoff(30) == timedelta(hours=6)


def test_gives_up_after_max_attempts(scoped, receiver, monkeypatch):
    monkeypatch.setattr(svc, "MAX_ATTEMPTS", 2)
    sub, _secret = subscribe(scoped, receiver.url)
    receiver.script(Response.json(500, {}), times=5)
    svc.webhook_emit(tenant=scoped, key="contact.created", payload={})
    svc.webhooks_deliver_due(tenant=scoped)
    delivery = WebhookDelivery.objects.get(subscription=sub)
    svc.webhooks_deliver_due(tenant=scoped, now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt, delivery.next_attempt_at) == (
        DeliveryStatus.FAILED, 2, None)
    assert svc.webhooks_deliver_due(tenant=scoped, now=timezone.now() + timedelta(days=1)) == 0


def test_disabled_after_consecutive_failures_and_admins_told(scoped, owner, receiver,
                                                             monkeypatch):
    monkeypatch.setattr(svc, "DISABLE_AFTER", 3)
    sub, _secret = subscribe(scoped, receiver.url)
    receiver.script(Response.json(500, {}), times=10)
    for n in range(3):
        svc.webhook_emit(tenant=scoped, key="contact.created", payload={"n": n})
        svc.webhooks_deliver_due(tenant=scoped)
    assert svc.webhook_emit(tenant=scoped, key="contact.created", payload={"n": 99}) == 0
    sub.refresh_from_db()
    assert (sub.is_active, sub.failure_count) == (False, 3)
    assert sub.disabled_at is not None and "3" in sub.disabled_reason
    assert len(receiver.requests()) == 3  # the fourth event found nobody listening
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).count() == 0
    [note] = Notification.objects.filter(user=owner, kind="webhook.disabled")
    assert "Booking" in note.title
    # Switching it on again starts the count afresh.
    svc.webhook_subscription_update(tenant=scoped, actor=SYSTEM, subscription=sub,
                                    data={"is_active": True})
    sub.refresh_from_db()
    assert (sub.is_active, sub.failure_count, sub.disabled_at) == (True, 0, None)


def test_unreachable_url_is_a_logged_failure(scoped):
    sub, _secret = subscribe(scoped, "http://127.0.0.1:9/nothing")
    svc.webhook_emit(tenant=scoped, key="contact.created", payload={})
    svc.webhooks_deliver_due(tenant=scoped)
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert delivery.status == DeliveryStatus.PENDING and delivery.response_code is None
    assert delivery.error.startswith("ConnectError")


def test_an_answer_without_end_is_read_only_as_far_as_its_excerpt(scoped):
    with EndlessAnswer() as endless:
        sub, _secret = subscribe(scoped, f"{endless.url}/hook")
        svc.webhook_emit(tenant=scoped, key="contact.created", payload={})
        svc.webhooks_deliver_due(tenant=scoped)
    delivery = WebhookDelivery.objects.get(subscription=sub)
    assert (delivery.status, delivery.response_code) == (DeliveryStatus.SUCCEEDED, 200)
    assert delivery.response_body == "x" * svc.MAX_RESPONSE_EXCERPT
    # The connection was dropped after the excerpt: only what the sockets' buffers took
    # went out, not the 256 MiB the receiver would have sent to a client reading it all.
    assert endless.sent < 32 * 1024 * 1024


def test_api_create_test_and_redeliver(tenant, owner, receiver):
    _key, secret = make_key(tenant, owner, ["webhooks.view", "webhooks.manage"])
    api = Client(headers=bearer(secret))
    bad = api.post(f"{API}/webhooks", {"name": "", "url": "ftp://x", "event_types": ["nope"]},
                   content_type=J)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"name", "url", "event_types"}
    made = api.post(f"{API}/webhooks", {"name": "CRM", "url": receiver.url,
                                        "event_types": ["*"]}, content_type=J)
    assert made.status_code == 201
    sub_id, signing = made.json()["id"], made.json()["secret"]
    assert signing.startswith("whsec_")
    assert "secret" not in api.get(f"{API}/webhooks/{sub_id}").json()
    test = api.post(f"{API}/webhooks/{sub_id}/test").json()
    assert (test["status"], test["event_type"], test["response_code"]) == (
        "SUCCEEDED", "webhook.test", 200)
    assert FakeReceiver.signature_ok(receiver.requests()[-1], signing)
    receiver.script(Response.json(410, {"gone": True}))
    again = api.post(f"{API}/webhooks/deliveries/{test['id']}/redeliver").json()
    assert (again["status"], again["attempt"], again["response_code"]) == ("FAILED", 2, 410)
    log = api.get(f"{API}/webhooks/{sub_id}/deliveries").json()["items"]
    assert [d["id"] for d in log] == [test["id"]]
    rotated = api.post(f"{API}/webhooks/{sub_id}/rotate-secret").json()["secret"]
    assert rotated != signing
    api.post(f"{API}/webhooks/{sub_id}/test")
    assert FakeReceiver.signature_ok(receiver.requests()[-1], rotated)
    events = {e["key"] for e in api.get(f"{API}/webhooks/events").json()}
    assert {"contact.created", "activity.recorded", "message.status",
            "campaign.finished", "journey.completed"} <= events
    assert api.delete(f"{API}/webhooks/{sub_id}").status_code == 204
    with tenant_scope(tenant):
        assert not WebhookSubscription.objects.exists()


def test_viewer_cannot_manage(tenant, owner):
    _key, secret = make_key(tenant, owner, ["webhooks.view"])
    api = Client(headers=bearer(secret))
    made = api.post(f"{API}/webhooks", {"name": "CRM", "url": "https://example.org",
                                        "event_types": ["*"]}, content_type=J)
    assert made.status_code == 403


def test_pages(tenant, owner, receiver):
    from tend.core.tests.apitools import signed_in

    client = signed_in(owner)
    base = f"/o/{tenant.slug}/marketing/webhooks/"
    assert client.get(base).status_code == 200
    page = client.post(base, {"name": "Pager", "url": receiver.url,
                              "event_types": ["contact.created"]})
    assert page.status_code == 200 and b"whsec_" in page.content
    with tenant_scope(tenant):
        sub = WebhookSubscription.objects.get()
    tested = client.post(f"{base}{sub.pk}/test/", follow=True)
    assert b"webhook.test" in tested.content
    assert len(receiver.requests()) == 1


def test_the_tick_sends_every_organizations_due_deliveries(tenant, make_tenant, receiver):
    from tend.core.tenancy import system_scope
    from tend.marketing.tasks_automation import webhooks_tick

    other = make_tenant("Other Club", slug="other")
    subs = [subscribe(t, receiver.url + f"/{t.slug}")[0] for t in (tenant, other)]
    for t in (tenant, other):
        with tenant_scope(t):
            svc.webhook_emit(tenant=t, key="contact.created", payload={"org": t.slug})
    with system_scope():
        assert webhooks_tick(timezone.now()) == 2
    assert sorted(r.path for r in receiver.requests()) == ["/acme", "/other"]
    for t, sub in zip((tenant, other), subs, strict=True):
        with tenant_scope(t):
            assert WebhookDelivery.objects.get(subscription=sub).status == "SUCCEEDED"
