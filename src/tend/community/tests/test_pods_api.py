"""Pods over the API and the pages: create a pod, join until full (422 with the field),
meetings and attendance, commitments with check-ins, matching, KPIs; the pages render and
their forms work; the demo loader builds pods, waiting people and streaks."""

from __future__ import annotations

import json
import random

import pytest
from django.test import Client

from tend.community.demo_pods import load_pods_demo
from tend.community.models import Pod, PodsProfile
from tend.core.demo import DemoContext, demo_loaders
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


def fields(response):
    return {e["field"] for e in response.json()["errors"]}


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_pods_api_round_trip(tenant, api):
    people = [make_contact(tenant, first_name=f"P{i}") for i in range(3)]
    bad = post(api, f"{API}/community/pods", {"name": "X", "time": "nope",
                                              "time_zone": "Nowhere/Here"})
    assert bad.status_code == 422
    assert {"time", "time_zone"} <= fields(bad)
    made = post(api, f"{API}/community/pods", {"name": "Gulf", "time": "19:30",
                                               "time_zone": "Asia/Dubai", "capacity": 2})
    assert made.status_code == 201, made.content
    pod = made.json()
    assert pod["next_meeting_at"] and pod["status"] == "ACTIVE"
    for person in people[:2]:
        assert post(api, f"{API}/community/pods/{pod['id']}/members",
                    {"contact_id": str(person.pk)}).status_code == 201
    full = post(api, f"{API}/community/pods/{pod['id']}/members",
                {"contact_id": str(people[2].pk)})
    assert full.status_code == 422 and "pod_id" in fields(full)
    meetings = post(api, f"{API}/community/pods/{pod['id']}/meetings/generate", {"weeks": 2})
    assert meetings.status_code == 200 and len(meetings.json()) == 2
    mid = meetings.json()[0]["id"]
    seen = post(api, f"{API}/community/pod-meetings/{mid}/attendance",
                {"contact_id": str(people[0].pk), "attended": True, "rating": 4})
    assert seen.status_code == 200 and seen.json()["attended"] is True
    commitment = post(api, f"{API}/contacts/{people[0].pk}/commitments",
                      {"text": "read 20 pages tonight"})
    assert commitment.status_code == 201 and commitment.json()["smart_score"] == 10
    checkin = post(api, f"{API}/community/commitments/{commitment.json()['id']}/check-ins",
                   {"done": True})
    assert checkin.status_code == 201
    profile = api.get(f"{API}/contacts/{people[0].pk}/pods-profile").json()
    assert (profile["current_streak"], profile["active_commitments"]) == (1, 1)
    assert api.patch(f"{API}/contacts/{people[2].pk}/pods-profile",
                     data=json.dumps({"waiting": True, "goals_category": "health"}),
                     content_type="application/json").status_code == 200
    run = post(api, f"{API}/community/pod-matching", {})
    assert run.status_code == 201
    [only] = run.json()["proposal"]["assignments"]
    assert only["pod"] == "new-1"  # the one pod is full
    kpis = api.get(f"{API}/community/pod-kpis").json()
    assert kpis["now"]["new_people"] == 2 and len(kpis["weeks"]) == 8
    analysis = post(api, f"{API}/community/smart-analysis", {"text": "get fit"}).json()
    assert analysis["score"] == 2


def test_pages_render_and_forms_work(tenant, owner):
    browser = Client()
    browser.force_login(owner)
    base = f"/o/{tenant.slug}/community/pods/"
    response = browser.post(base, {"name": "Page pod", "day_of_week": "2", "time": "18:00",
                                   "time_zone": "Europe/Berlin", "capacity": "4",
                                   "duration_minutes": "60"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        pod = Pod.objects.get(name="Page pod")
    person = make_contact(tenant, first_name="Nadia")
    page = f"{base}{pod.pk}/"
    assert browser.post(page, {"action": "member", "contact_id": str(person.pk)}
                        ).status_code == 302
    assert browser.post(page, {"action": "generate"}).status_code == 302
    html = browser.get(page).content.decode()
    assert "Nadia" in html and "Who was there?" in html
    assert browser.get(base).status_code == 200
    assert "Pod attendance" in browser.get(f"{base}kpis/").content.decode()
    assert browser.post(f"{base}matching/", {"action": "propose"}).status_code == 302
    assert browser.get(f"{base}matching/").status_code == 200
    contact_page = browser.get(f"/o/{tenant.slug}/people/contacts/{person.pk}/")
    assert contact_page.status_code == 200
    assert "Page pod" in contact_page.content.decode()
    bad = browser.post(base, {"name": "", "time": "x"})
    assert bad.status_code == 422 and "Enter a name" in bad.content.decode()


def test_demo_loader_builds_pods_waiting_people_and_streaks(scoped, owner):
    assert load_pods_demo in demo_loaders()
    for i in range(30):
        make_contact(scoped, first_name=f"P{i}", display_name=f"P{i:02d}")
    ctx = DemoContext(tenant=scoped, owner=owner, actor=member_actor(scoped, owner),
                      password=None, rng=random.Random(5))
    load_pods_demo(ctx)
    assert sorted(Pod.objects.values_list("member_count", flat=True)) == [5, 5, 5]
    assert PodsProfile.objects.filter(waiting=True).count() == 15
    assert PodsProfile.objects.filter(current_streak__gt=0).exists()
