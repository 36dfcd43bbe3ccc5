"""The journeys API (create with steps, validate per step, activate, enroll, stats, the
inspector, exit, versions) and the triggers (activity, segment, date)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import Client

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import bearer, make_key
from tend.marketing.models_journeys import JourneyEnrollment
from tend.marketing.services.journeys_engine import run_due
from tend.marketing.services.journeys_triggers import date_triggers_run, trigger_index_clear
from tend.marketing.tests.journey_helpers import linear_steps, make_journey, publish_template
from tend.people.tests.helpers_360 import make_contact

pytestmark = pytest.mark.django_db
API = "/api/v1"
SYSTEM = Actor.system()


@pytest.fixture
def api(tenant, owner):
    _key, secret = make_key(tenant, owner, ["journeys.view", "journeys.add", "journeys.change",
                                            "journeys.delete", "journeys.send",
                                            "contacts.view"])
    return Client(headers=bearer(secret))


@pytest.fixture(autouse=True)
def _fresh_index():
    trigger_index_clear()
    yield
    trigger_index_clear()


def _post(api, path, body=None):
    return api.post(f"{API}{path}", body or {}, content_type="application/json")


def test_create_validate_activate_enroll_and_inspect(api, tenant):
    bad = _post(api, "/journeys", {"name": "Welcome", "steps": [
        {"key": "t", "type": "TRIGGER", "next": "w"},
        {"key": "w", "type": "WAIT", "config": {"duration": "later"}, "next": "e"},
        {"key": "e", "type": "END"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "steps.w" or "steps.w" in bad.content.decode()

    created = _post(api, "/journeys", {"name": "Welcome", "steps": linear_steps()})
    assert created.status_code == 201, created.content
    journey_id = created.json()["id"]
    assert [s["key"] for s in created.json()["steps"]] == ["trigger", "first", "wait",
                                                           "second", "end"]
    problems = _post(api, f"/journeys/{journey_id}/validate").json()
    assert problems == {"valid": False, "problems": {
        "first": ["There is no published template “hello” for EMAIL."],
        "second": ["There is no published template “hello” for EMAIL."]}}
    refused = _post(api, f"/journeys/{journey_id}/activate")
    assert refused.status_code == 422
    assert "steps.first" in refused.content.decode()

    publish_template(tenant)
    assert _post(api, f"/journeys/{journey_id}/activate").json()["status"] == "ACTIVE"
    contact = make_contact(tenant, first_name="Ziad")
    enrolled = _post(api, f"/journeys/{journey_id}/enrollments",
                     {"contact_ids": [str(contact.pk)]})
    assert enrolled.json()["enrolled"] == 1
    again = _post(api, f"/journeys/{journey_id}/enrollments", {"contact_ids": [str(contact.pk)]})
    assert again.json() == {"enrolled": 0, "enrollment_ids": []}
    run_due()

    inspector = api.get(f"{API}/contacts/{contact.pk}/journeys").json()
    assert len(inspector) == 1
    assert inspector[0]["current_step_key"] == "wait" and inspector[0]["status"] == "ACTIVE"
    assert [h["step_key"] for h in inspector[0]["history"]] == ["trigger", "first"]
    stats = api.get(f"{API}/journeys/{journey_id}/stats").json()
    assert (stats["enrolled"], stats["active"]) == (1, 1)
    assert stats["steps"]["first"] == {"passed": 1, "here": 0, "failed": 0}
    assert stats["steps"]["wait"]["here"] == 1

    # Editing the running journey makes version 2; the enrollment keeps version 1.
    steps = created.json()["steps"]
    steps[2]["config"] = {"duration": "3 days"}
    edited = api.put(f"{API}/journeys/{journey_id}/steps", {"steps": steps},
                     content_type="application/json")
    assert edited.json()["version"] == 2
    enrollment_id = enrolled.json()["enrollment_ids"][0]
    assert api.get(f"{API}/journey-enrollments/{enrollment_id}").json()["version"] == 1
    # A running journey refuses steps that cannot run.
    broken = api.put(f"{API}/journeys/{journey_id}/steps", {"steps": steps[:2]},
                     content_type="application/json")
    assert broken.status_code == 422

    out = _post(api, f"/journey-enrollments/{enrollment_id}/exit", {"reason": "asked"})
    assert (out.json()["status"], out.json()["exit_reason"]) == ("EXITED", "asked")
    assert _post(api, f"/journey-enrollments/{enrollment_id}/exit").status_code == 409


def test_sequence_api(api, tenant):
    created = _post(api, "/journeys", {"name": "Follow-up", "kind": "SEQUENCE"})
    journey_id = created.json()["id"]
    items = [{"channel": "TELEGRAM", "template": "f", "after": "24 hours"},
             {"channel": "EMAIL", "template": "f", "after": "72 hours"}]
    saved = api.put(f"{API}/journeys/{journey_id}/sequence", {"items": items},
                    content_type="application/json")
    assert [s["type"] for s in saved.json()["steps"]] == [
        "TRIGGER", "WAIT", "SEND", "WAIT", "SEND", "END"]
    assert api.get(f"{API}/journeys/{journey_id}/sequence").json() == {"items": items}


def test_activity_trigger_with_conditions(tenant, django_capture_on_commit_callbacks):
    from tend.people.services.activities import activity_record

    steps = [{"key": "t", "type": "TRIGGER", "next": "w"},
             {"key": "w", "type": "WAIT", "config": {"duration": "1 day"}, "next": "e"},
             {"key": "e", "type": "END"}]
    journey = make_journey(tenant, steps, trigger_type="ACTIVITY", trigger_config={
        "activity_type": "teetime_booked", "conditions": {"combinator": "and", "rules": [
            {"field": "city", "operator": "equals", "value": "Dubai"}]}})
    dubai = make_contact(tenant, first_name="D", city="Dubai")
    doha = make_contact(tenant, first_name="Q", city="Doha")
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        for contact in (dubai, doha):
            activity_record(tenant=tenant, actor=SYSTEM, contact=contact,
                            type="TEETIME_BOOKED", source="test",
                            source_event_id=f"b-{contact.pk}")
            activity_record(tenant=tenant, actor=SYSTEM, contact=contact, type="NOTE_ADDED")
    with tenant_scope(tenant):
        enrolled = list(JourneyEnrollment.objects.filter(journey=journey).values_list(
            "contact_id", "trigger_data__type"))
    assert enrolled == [(dubai.pk, "TEETIME_BOOKED")]


def test_segment_entered_trigger(tenant, django_capture_on_commit_callbacks):
    from tend.marketing.services.membership import segment_add_members
    from tend.marketing.services.segments import segment_create

    with tenant_scope(tenant):
        segment = segment_create(tenant=tenant, actor=SYSTEM, data={"name": "VIP"})
    steps = [{"key": "t", "type": "TRIGGER", "next": "e"}, {"key": "e", "type": "END"}]
    journey = make_journey(tenant, steps, trigger_type="SEGMENT_ENTERED",
                           trigger_config={"segment_id": str(segment.pk)})
    people = [make_contact(tenant, first_name=f"S{i}") for i in range(3)]
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        segment_add_members(tenant=tenant, actor=SYSTEM, segment=segment,
                            contact_ids=[p.pk for p in people])
    with tenant_scope(tenant):
        statuses = list(JourneyEnrollment.objects.filter(journey=journey).values_list(
            "status", flat=True))
    # Three enrolled, and (small enrollments advance at once) already through.
    assert statuses == ["COMPLETED"] * 3


def test_birthday_trigger_enrolls_once_per_date(tenant):
    steps = [{"key": "t", "type": "TRIGGER", "next": "e"}, {"key": "e", "type": "END"}]
    journey = make_journey(tenant, steps, trigger_type="DATE", allow_reentry=True,
                           time_zone="Asia/Dubai", trigger_config={
                               "field": "date_of_birth", "days_before": 2, "at": "09:00"})
    born = make_contact(tenant, first_name="B", date_of_birth=date(1990, 3, 12))
    make_contact(tenant, first_name="N", date_of_birth=date(1990, 3, 13))
    early = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)  # 08:00 in Dubai: before 09:00
    assert date_triggers_run(now=early) == 0
    morning = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)  # 10:00 in Dubai
    assert date_triggers_run(now=morning) == 1
    run_due(now=morning)
    assert date_triggers_run(now=morning) == 0  # the same date: once
    with tenant_scope(tenant):
        assert list(JourneyEnrollment.objects.filter(journey=journey).values_list(
            "contact_id", "entry_key")) == [(born.pk, f"date:2026-03-12:{born.pk}")]
