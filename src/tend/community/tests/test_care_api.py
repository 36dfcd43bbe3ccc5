"""Care API: units and members, mentor links, lessons, practice, the attention list with its
reasons, thresholds; field errors for bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tend.community.models import Unit
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import IdentityAlias
from tend.people.tests.helpers_360 import add_member, make_contact

API = "/api/v1"
pytestmark = pytest.mark.django_db


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def post(client, url, body):
    return client.post(API + url, data=json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(API + url, data=json.dumps(body), content_type="application/json")


def test_units_members_and_subtree(tenant, client):
    root = post(client, "/community/units", {"name": "Oman", "kind": "country"})
    assert root.status_code == 201
    child = post(client, "/community/units", {"name": "Muscat", "parent_id": root.json()["id"]})
    assert (child.status_code, child.json()["depth"]) == (201, 1)
    ana = make_contact(tenant, first_name="Ana", last_name="A", display_name="Ana A")
    added = post(client, f"/community/units/{child.json()['id']}/members",
                 {"contact_id": str(ana.pk), "role": "SECRETARY"})
    assert (added.status_code, added.json()["role"], added.json()["contact_name"]) == (
        201, "SECRETARY", "Ana A")
    own = client.get(f"{API}/community/units/{root.json()['id']}/members").json()
    assert own["items"] == []
    subtree = client.get(f"{API}/community/units/{root.json()['id']}/members",
                         {"subtree": "true"}).json()
    assert [m["contact_name"] for m in subtree["items"]] == ["Ana A"]
    listed = client.get(f"{API}/community/units").json()["items"]
    assert [u["name"] for u in listed] == ["Oman", "Muscat"]


def test_bad_input_is_a_field_error(tenant, client):
    response = post(client, "/community/units", {"name": "  "})
    assert response.status_code == 422
    assert "name" in json.dumps(response.json())
    response = post(client, "/community/units", {"name": "X", "parent_id":
                                                 "0190c7a0-0000-7000-8000-000000000000"})
    assert response.status_code == 422
    assert "parent_id" in json.dumps(response.json())
    person = make_contact(tenant)
    response = post(client, f"/contacts/{person.pk}/practice", {"regularity": "HOURLY"})
    assert response.status_code == 422
    response = patch(client, "/community/attention/settings", {"days_since_contact": 0})
    assert response.status_code == 422
    assert "days_since_contact" in json.dumps(response.json())


def test_lessons_practice_and_attention(tenant, client, owner):
    course = post(client, "/community/courses", {"title": "Lessons", "min_interval_days": 30,
                                                 "status": "PUBLISHED"}).json()
    first = post(client, f"/community/courses/{course['id']}/lessons", {"title": "One"}).json()
    second = post(client, f"/community/courses/{course['id']}/lessons", {"title": "Two"}).json()
    assert (first["order"], second["order"]) == (1, 2)
    cy = make_contact(tenant, first_name="Cy", last_name="", display_name="Cy")
    early = post(client, f"/contacts/{cy.pk}/lessons", {"lesson_id": second["id"]})
    assert early.status_code == 422
    received = post(client, f"/contacts/{cy.pk}/lessons", {
        "lesson_id": first["id"],
        "received_at": (timezone.now() - timedelta(days=200)).isoformat()})
    assert received.status_code == 201
    dee = make_contact(tenant, first_name="Dee", last_name="", display_name="Dee")
    assert post(client, f"/contacts/{dee.pk}/practice",
                {"regularity": "IRREGULAR"}).status_code == 201
    history = client.get(f"{API}/contacts/{dee.pk}/practice").json()["items"]
    assert [h["regularity"] for h in history] == ["IRREGULAR"]
    page = client.get(f"{API}/community/attention").json()
    assert [(i["name"], i["clauses"]) for i in page["items"]] == [
        ("Cy", ["lesson"]), ("Dee", ["practice"])]
    assert page["rule"]["combinator"] == "or"
    assert patch(client, "/community/attention/settings",
                 {"months_since_lesson": 12}).json() == {"days_since_contact": 30,
                                                         "months_since_lesson": 12}
    page = client.get(f"{API}/community/attention").json()
    assert [i["name"] for i in page["items"]] == ["Dee"]


def test_my_mentees_and_mentor_links(tenant, client, owner):
    mentor = make_contact(tenant, first_name="Mentor")
    mentee = make_contact(tenant, first_name="Mentee", last_name="", display_name="Mentee")
    assert client.get(f"{API}/community/my-mentees").json()["items"] == []
    with tenant_scope(tenant):
        IdentityAlias.objects.create(tenant=tenant, contact=mentor, type="AUTH_USER",
                                     value=str(owner.pk))
    link = post(client, "/community/mentor-links", {"mentor_id": str(mentor.pk),
                                                    "mentee_id": str(mentee.pk)})
    assert link.status_code == 201
    mine = client.get(f"{API}/community/my-mentees").json()["items"]
    assert [m["mentee_name"] for m in mine] == ["Mentee"]
    ended = post(client, f"/community/mentor-links/{link.json()['id']}/end", {})
    assert ended.json()["active"] is False
    assert client.get(f"{API}/community/my-mentees").json()["items"] == []


def test_viewer_reads_but_cannot_write(tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    assert client.get(f"{API}/community/units").status_code == 200
    assert post(client, "/community/units", {"name": "X"}).status_code == 403
    with tenant_scope(tenant):
        assert Unit.objects.count() == 0
