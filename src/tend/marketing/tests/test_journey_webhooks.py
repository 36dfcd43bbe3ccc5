"""Outbound webhook events of journeys and campaigns: `journey.completed` for each enrollment
that reaches its END (a batch's events queued with one insert, in the batch's transaction)
and `campaign.finished` when a campaign becomes COMPLETED."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.core.tenancy import tenant_scope
from tend.marketing.models import WebhookDelivery
from tend.marketing.services import webhooks_out
from tend.marketing.services.journeys import journey_enroll_many
from tend.marketing.services.journeys_engine import run_due
from tend.marketing.tests.journey_helpers import SYSTEM, make_journey, publish_template, step
from tend.messaging.models import Template
from tend.people.tests.helpers_360 import make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    webhooks_out._listening.clear()
    yield
    webhooks_out._listening.clear()


def _subscribe(tenant, *events: str) -> None:
    with tenant_scope(tenant):
        webhooks_out.webhook_subscription_create(tenant=tenant, actor=SYSTEM, data={
            "name": "Listener", "url": "https://hooks.example/in", "event_types": list(events)})


def _deliveries(tenant, key: str) -> list[WebhookDelivery]:
    with tenant_scope(tenant):
        return list(WebhookDelivery.objects.filter(event_type=key))


def test_journey_completed_is_queued_once_per_completed_enrollment_in_one_insert(tenant):
    _subscribe(tenant, "journey.completed")
    steps = [step("trigger", "TRIGGER", "city"),
             step("city", "CONDITION", rules=[{"field": "city", "operator": "equals",
                                               "value": "Dubai"}], combinator="AND",
                  yes="end", no="send"),
             # Its template is archived after the start: the Doha people fail here.
             step("send", "SEND", "end", channel="EMAIL", templateId="hello"),
             step("end", "END")]
    publish_template(tenant)
    journey = make_journey(tenant, steps, name="Arrivals")
    with tenant_scope(tenant):
        Template.objects.filter(tenant=tenant).update(status="ARCHIVED")
    people = [make_contact(tenant, first_name=f"W{i}", city="Dubai" if i < 5 else "Doha")
              for i in range(7)]
    with tenant_scope(tenant):
        enrollments = journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                                          contact_ids=[p.pk for p in people])
    with CaptureQueriesContext(connection) as queries:
        stats = run_due()
    assert (stats.completed, stats.failed) == (5, 2)
    inserts = [q["sql"] for q in queries.captured_queries
               if q["sql"].startswith('INSERT INTO "marketing_webhookdelivery"')]
    assert len(inserts) == 1
    deliveries = _deliveries(tenant, "journey.completed")
    assert len(deliveries) == 5
    by_contact = {d.payload["data"]["contact_id"]: d.payload for d in deliveries}
    assert set(by_contact) == {str(p.pk) for p in people[:5]}
    payload = by_contact[str(people[0].pk)]
    assert payload["type"] == "journey.completed"
    assert payload["data"]["journey"] == {"id": str(journey.pk), "name": "Arrivals",
                                          "version": 1}
    ids = {str(e.pk) for e in enrollments}
    assert {p["data"]["enrollment"]["id"] for p in by_contact.values()} <= ids
    assert len({d.event_id for d in deliveries}) == 5
    # Nothing more on the next tick: each completion is one event.
    run_due()
    assert len(_deliveries(tenant, "journey.completed")) == 5


def test_journey_completed_costs_nothing_without_a_listener(tenant):
    _subscribe(tenant, "contact.created")
    journey = make_journey(tenant, [step("t", "TRIGGER", "e"), step("e", "END")])
    with tenant_scope(tenant):
        journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                            contact_ids=[make_contact(tenant).pk])
    assert run_due().completed == 1
    assert _deliveries(tenant, "journey.completed") == []


def test_emit_many_queues_every_event_for_every_listener(scoped):
    _subscribe(scoped, "journey.completed")
    _subscribe(scoped, "*")
    queued = webhooks_out.webhook_emit_many(tenant=scoped, key="journey.completed",
                                            payloads=[{"n": 1}, {"n": 2}, {"n": 3}])
    assert queued == 6
    rows = _deliveries(scoped, "journey.completed")
    assert sorted(r.payload["data"]["n"] for r in rows) == [1, 1, 2, 2, 3, 3]
    assert len({r.event_id for r in rows}) == 3
    assert webhooks_out.webhook_emit_many(tenant=scoped, key="contact.created",
                                          payloads=[]) == 0
    with pytest.raises(ValueError):
        webhooks_out.webhook_emit_many(tenant=scoped, key="no.such", payloads=[{}])


def test_campaign_finished_is_queued_when_the_campaign_completes(
        scoped, settings, django_capture_on_commit_callbacks):
    from tend.marketing.services import campaigns as svc
    from tend.marketing.tests.campaign_helpers import account, person, segment_of
    from tend.messaging.models import Message

    settings.TEND_PUBLIC_URL = "https://crm.example"
    _subscribe(scoped, "campaign.finished")
    account(scoped, "EMAIL")
    golfers = segment_of(scoped, "Golfers", [person(scoped, "Ada"), person(scoped, "Bo")])
    campaign = svc.campaign_create(tenant=scoped, actor=SYSTEM, data={
        "name": "Spring open", "segment_ids": [str(golfers.pk)],
        "channels": [{"channel": "EMAIL", "subject": "Hi", "body": "Book now."}]})
    with django_capture_on_commit_callbacks(execute=True):
        svc.campaign_launch(tenant=scoped, actor=SYSTEM, campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == "ACTIVE"
    # Still sending: not finished.
    assert svc.campaigns_complete_drained(tenant=scoped) == 0
    assert _deliveries(scoped, "campaign.finished") == []
    Message.objects.update(status="SENT")
    assert svc.campaigns_complete_drained(tenant=scoped) == 1
    [delivery] = _deliveries(scoped, "campaign.finished")
    data = delivery.payload["data"]["campaign"]
    assert (data["id"], data["name"]) == (str(campaign.pk), "Spring open")
    assert data["completed_at"] is not None
    # Completing is a one-way move: nothing more later.
    assert svc.campaigns_complete_drained(tenant=scoped) == 0
    assert len(_deliveries(scoped, "campaign.finished")) == 1
