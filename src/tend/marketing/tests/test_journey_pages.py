"""Pages: the journey list and form, the builder (a form per step, activation refused with
problems on their steps), enrolling by hand, the sequence editor and the inspector."""

from __future__ import annotations

import pytest

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.marketing.models_journeys import Journey, JourneyEnrollment
from tend.marketing.tests.journey_helpers import linear_steps, make_journey, publish_template
from tend.people.tests.helpers_360 import make_contact

pytestmark = pytest.mark.django_db
BASE = "/o/acme/marketing/journeys/"


@pytest.fixture
def web(tenant, owner):
    return signed_in(owner, tenant)


def _journey(tenant, name):
    with tenant_scope(tenant):
        return Journey.objects.get(tenant=tenant, name=name)


def test_build_a_journey_step_by_step_and_activate(web, tenant):
    publish_template(tenant)
    created = web.post(f"{BASE}new/", {"name": "Onboarding", "kind": "JOURNEY",
                                       "trigger_type": "MANUAL", "time_zone": "Asia/Dubai",
                                       "days_before": 0})
    assert created.status_code == 302, created.content.decode()[:2000]
    journey = _journey(tenant, "Onboarding")
    page = web.get(f"{BASE}{journey.pk}/")
    assert page.status_code == 200
    assert 'id="step-trigger"' in page.content.decode()

    # A SEND with a template that does not exist: saved (a draft may be unfinished) …
    sent = web.post(f"{BASE}{journey.pk}/steps/new/", {
        "type": "SEND", "key": "welcome", "name": "Welcome", "after": "trigger",
        "channel": "EMAIL", "template": "nope", "next": ""})
    assert sent.status_code == 302, sent.content.decode()[:3000]
    # … and a WAIT after it.
    waited = web.post(f"{BASE}{journey.pk}/steps/new/", {
        "type": "WAIT", "key": "pause", "after": "welcome", "duration": "2 days", "next": ""})
    assert waited.status_code == 302
    with tenant_scope(tenant):
        from tend.marketing.services.journeys import journey_steps

        chain = [(s.key, s.next_key) for s in journey_steps(tenant=tenant, journey=journey)]
    assert chain == [("trigger", "welcome"), ("welcome", "pause"), ("pause", "end"),
                     ("end", "")]

    # Activation names the step with the missing template.
    refused = web.post(f"{BASE}{journey.pk}/activate/")
    assert refused.status_code == 422
    html = refused.content.decode()
    assert 'id="journey-problems"' in html
    step_box = html.split('id="step-welcome"')[1].split("</article>")[0]
    assert "There is no published template “nope” for EMAIL." in step_box

    # Fix the step through its form; activation goes through.
    fixed = web.post(f"{BASE}{journey.pk}/steps/welcome/", {
        "type": "SEND", "name": "Welcome", "channel": "EMAIL", "template": "hello",
        "next": "pause"})
    assert fixed.status_code == 302
    assert web.post(f"{BASE}{journey.pk}/activate/").status_code == 302
    assert _journey(tenant, "Onboarding").status == "ACTIVE"


def test_step_form_shows_field_errors(web, tenant):
    journey = make_journey(tenant, linear_steps(), activate=False)
    response = web.post(f"{BASE}{journey.pk}/steps/wait/", {
        "type": "WAIT", "duration": "soon", "next": "second"})
    assert response.status_code == 422
    assert "Write a duration such as “3 days” or “24 hours”." in response.content.decode()
    impossible = web.post(f"{BASE}{journey.pk}/steps/wait/", {
        "type": "WAIT", "until": "2030-02-30T09:00", "next": "second"})
    assert impossible.status_code == 422
    assert "Write the date and time as 2026-05-01T09:00." in impossible.content.decode()


def test_enroll_by_hand_and_inspect(web, tenant, django_capture_on_commit_callbacks):
    publish_template(tenant)
    journey = make_journey(tenant, linear_steps())
    contact = make_contact(tenant, first_name="Rana", primary_email="rana@example.com")
    options = web.get(f"{BASE}contacts/?q=rana")
    assert str(contact.pk) in options.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        enrolled = web.post(f"{BASE}{journey.pk}/enroll/", {"contact": str(contact.pk)})
    assert enrolled.status_code == 302
    with tenant_scope(tenant):
        assert JourneyEnrollment.objects.get(journey=journey).current_step.key == "wait"
    page = web.get(f"{BASE}inspector/?q=Rana&contact={contact.pk}").content.decode()
    result = page.split('id="inspector-result"')[1]
    assert "Welcome" in result and "Now at: wait" in result and "next step at" in result
    detail = web.get(f"{BASE}{journey.pk}/").content.decode()
    assert 'id="stat-enrolled">1<' in detail and "1 here now" in detail


def test_sequence_editor_builds_a_linear_journey(web, tenant):
    for channel in ("TELEGRAM", "SMS", "EMAIL"):
        publish_template(tenant, key="nudge", channel=channel)
    created = web.post(f"{BASE}new/", {"name": "Nudges", "kind": "SEQUENCE",
                                       "trigger_type": "MANUAL", "time_zone": "UTC"})
    journey = _journey(tenant, "Nudges")
    assert created["Location"].endswith(f"{journey.pk}/sequence/")
    saved = web.post(f"{BASE}{journey.pk}/sequence/", {
        "after-0": "24 hours", "channel-0": "TELEGRAM", "template-0": "nudge",
        "after-1": "48 hours", "channel-1": "SMS", "template-1": "nudge",
        "after-2": "72 hours", "channel-2": "EMAIL", "template-2": "nudge"})
    assert saved.status_code == 302
    with tenant_scope(tenant):
        from tend.marketing.services.journeys import journey_steps

        steps = [(s.type, s.config) for s in journey_steps(tenant=tenant, journey=journey)]
    assert steps == [
        ("TRIGGER", {}), ("WAIT", {"duration": "86400 seconds"}),
        ("SEND", {"channel": "TELEGRAM", "templateId": "nudge"}),
        ("WAIT", {"duration": "86400 seconds"}),
        ("SEND", {"channel": "SMS", "templateId": "nudge"}),
        ("WAIT", {"duration": "86400 seconds"}),
        ("SEND", {"channel": "EMAIL", "templateId": "nudge"}), ("END", {})]
    editor = web.get(f"{BASE}{journey.pk}/sequence/").content.decode()
    assert 'value="72 hours"' in editor
    bad = web.post(f"{BASE}{journey.pk}/sequence/", {
        "after-0": "48 hours", "channel-0": "SMS", "template-0": "nudge",
        "after-1": "24 hours", "channel-1": "SMS", "template-1": "nudge"})
    assert bad.status_code == 422
    assert "Each message comes after the one before." in bad.content.decode()


def test_viewer_sees_but_cannot_change(tenant, make_user):
    journey = make_journey(tenant, linear_steps(), activate=False)
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    assert client.get(BASE).status_code == 200
    page = client.get(f"{BASE}{journey.pk}/").content.decode()
    assert 'id="journey-activate"' not in page
    assert client.post(f"{BASE}{journey.pk}/activate/").status_code == 403
    assert client.get(f"{BASE}{journey.pk}/steps/wait/").status_code == 403


def test_list_filters_by_name_and_status_like_the_api(web, tenant, owner):
    make_journey(tenant, linear_steps(), name="Spring welcome", activate=False)
    make_journey(tenant, linear_steps(), name="Autumn welcome", activate=False)
    page = web.get(BASE, {"q": " spring ", "status": "DRAFT"}).content.decode()
    assert "Spring welcome" in page and "Autumn welcome" not in page
    assert 'id="journeys-search"' in page and 'value="spring"' in page
    # An unknown status means none: both drafts listed, on the page and in the API.
    page = web.get(BASE, {"status": "NOPE"}).content.decode()
    assert "Spring welcome" in page and "Autumn welcome" in page
    from tend.core.tests.apitools import bearer, make_key

    _key, secret = make_key(tenant, owner, ["journeys.view"])
    rows = web.get("/api/v1/journeys", {"q": "spring", "status": "NOPE"},
                   headers=bearer(secret)).json()["items"]
    assert [r["name"] for r in rows] == ["Spring welcome"]
