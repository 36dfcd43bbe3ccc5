"""Editing commitments, goals, meetings and pods over the API (PATCH) and on their pages:
every bad field answers 422 with its own message, nothing is saved then; a new text is
scored again while the first wording stays; other organizations' rows are 404; a member who
may only view gets no forms and a 403 on POST."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from tend.community.models import (
    Commitment,
    Goal,
    MeetingAttendance,
    Pod,
    PodMeeting,
    PodMembership,
)
from tend.community.services.commitments import commitment_create, goal_create
from tend.community.services.pods_core import pod_create, pod_join
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import Activity
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db
API = "/api/v1"


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def browser(owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def rows(tenant, owner):
    """A person with a goal and a commitment, in a pod with one meeting."""
    actor = member_actor(tenant, owner)
    person = make_contact(tenant, first_name="Rana")
    with tenant_scope(tenant):
        goal = goal_create(tenant=tenant, actor=actor, contact=person,
                           data={"title": "Run a half marathon"})
        commitment = commitment_create(tenant=tenant, actor=actor, contact=person,
                                       text="get fit", goal=goal)
        pod = pod_create(tenant=tenant, actor=actor, data={"name": "Runners", "time": "07:00"})
        pod_join(tenant=tenant, actor=actor, pod=pod, contact=person)
        meeting = PodMeeting.objects.create(tenant=tenant, pod=pod,
                                            scheduled_at=timezone.now())
    return {"person": person, "goal": goal, "commitment": commitment, "pod": pod,
            "meeting": meeting}


def patch(client, url, body):
    return client.patch(url, data=json.dumps(body), content_type="application/json")


def fields(response):
    return {e["field"] for e in response.json()["errors"]}


def test_patch_a_commitment(api, tenant, rows):
    url = f"{API}/community/commitments/{rows['commitment'].pk}"
    bad = patch(api, url, {"text": " ", "difficulty": 9, "estimated_minutes": 0,
                           "status": "DONE"})
    assert bad.status_code == 422
    assert fields(bad) == {"text", "difficulty", "estimated_minutes", "status"}
    with tenant_scope(tenant):
        assert Commitment.objects.get().text == "get fit"
    done = patch(api, url, {"text": "run 5 km before 7am every day", "difficulty": 4,
                            "estimated_minutes": 40, "due_date": "2026-12-31",
                            "goal_id": None, "shared_with_pod": True})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["text"] == "run 5 km before 7am every day"
    assert body["original_text"] == "get fit" and body["smart_score"] > 2
    assert (body["difficulty"], body["estimated_minutes"], body["due_date"],
            body["goal_id"], body["shared_with_pod"]) == (4, 40, "2026-12-31", None, True)
    other = make_contact(tenant, first_name="Omar")
    with tenant_scope(tenant):
        theirs = Goal.objects.create(tenant=tenant, contact=other, title="Theirs")
    assert fields(patch(api, url, {"goal_id": str(theirs.pk)})) == {"goal_id"}
    closed = patch(api, url, {"status": "COMPLETED"})
    assert closed.status_code == 200 and closed.json()["completed_at"]
    with tenant_scope(tenant):
        [activity] = Activity.objects.filter(type="COMMITMENT_COMPLETED")
    assert activity.contact_id == rows["person"].pk
    assert activity.title == "run 5 km before 7am every day"
    checkins = api.get(f"{url}/check-ins")
    assert checkins.status_code == 200 and checkins.json() == []


def test_patch_a_goal_and_a_meeting(api, tenant, rows):
    goal_url = f"{API}/community/goals/{rows['goal'].pk}"
    bad = patch(api, goal_url, {"title": "", "progress": 140, "status": "WON"})
    assert bad.status_code == 422 and fields(bad) == {"title", "progress", "status"}
    good = patch(api, goal_url, {"progress": 40, "summary": "Ran 12 km on Sunday",
                                 "target_date": "2027-04-01"})
    assert good.status_code == 200
    assert good.json()["summaries"][-1]["text"] == "Ran 12 km on Sunday"
    assert api.get(goal_url).json()["progress"] == 40

    meeting_url = f"{API}/community/pod-meetings/{rows['meeting'].pk}"
    bad = patch(api, meeting_url, {"energy_level": 11, "status": "OVER",
                                   "action_items": ["x" * 501]})
    assert bad.status_code == 422
    assert fields(bad) == {"energy_level", "status", "action_items"}
    good = patch(api, meeting_url, {"notes": "Good one", "agenda": "Wins; blockers",
                                    "action_items": ["Rana: book the Race", " "],
                                    "energy_level": 8})
    assert good.status_code == 200
    assert good.json()["action_items"] == ["Rana: book the Race"]
    assert api.get(meeting_url).json()["energy_level"] == 8
    assert patch(api, meeting_url, {"energy_level": None}).json()["energy_level"] is None
    assert api.get(f"{meeting_url}/attendance").json() == []


def test_the_commitment_page_edits_with_field_errors(browser, tenant, rows):
    url = f"/o/{tenant.slug}/community/commitments/{rows['commitment'].pk}/"
    page = browser.get(url)
    assert page.status_code == 200 and "Edit commitment" in page.content.decode()
    bad = browser.post(url, {"action": "edit", "text": "walk", "difficulty": "seven",
                             "estimated_minutes": "-5", "due_date": "31/12/2026",
                             "goal_id": "", "status": "ACTIVE"})
    assert bad.status_code == 422
    html = bad.content.decode()
    for message in ("Enter a difficulty from 1 to 5.", "Enter minutes from 1 to 1440.",
                    "Enter a date like 2026-03-31."):
        assert message in html
    assert 'value="seven"' in html  # what was typed comes back
    with tenant_scope(tenant):
        assert Commitment.objects.get().text == "get fit"
    ok = browser.post(url, {"action": "edit", "text": "walk 30 minutes every evening",
                            "difficulty": "2", "estimated_minutes": "30",
                            "due_date": "2026-12-31", "goal_id": str(rows["goal"].pk),
                            "status": "ACTIVE", "shared_with_pod": "on"})
    assert ok.status_code == 302
    with tenant_scope(tenant):
        saved = Commitment.objects.get()
    assert (saved.text, saved.difficulty, saved.estimated_minutes, saved.shared_with_pod) == (
        "walk 30 minutes every evening", 2, 30, True)
    assert browser.post(url, {"action": "check-in", "done": "yes", "note": "done at 8",
                              "complete": "on"}).status_code == 302
    with tenant_scope(tenant):
        assert Commitment.objects.get().status == "COMPLETED"
    assert "done at 8" in browser.get(url).content.decode()


def test_the_progress_page_adds_commitments_goals_and_the_profile(browser, tenant, rows):
    url = f"/o/{tenant.slug}/community/people/{rows['person'].pk}/progress/"
    assert "Run a half marathon" in browser.get(url).content.decode()
    bad = browser.post(url, {"action": "commitment", "text": "", "difficulty": "0"})
    assert bad.status_code == 422
    assert "Write the commitment" in bad.content.decode()
    assert "Enter a difficulty from 1 to 5." in bad.content.decode()
    made = browser.post(url, {"action": "commitment", "text": "read 20 pages tonight",
                              "difficulty": "2", "goal_id": str(rows["goal"].pk)})
    assert made.status_code == 302
    with tenant_scope(tenant):
        assert Commitment.objects.filter(text="read 20 pages tonight",
                                         goal=rows["goal"]).exists()
    bad = browser.post(url, {"action": "goal", "title": "", "target_date": "soon"})
    assert bad.status_code == 422 and "Enter a date like" in bad.content.decode()
    assert browser.post(url, {"action": "goal", "title": "Learn Arabic",
                              "category": "Study"}).status_code == 302
    with tenant_scope(tenant):
        assert Goal.objects.get(title="Learn Arabic").category == "study"
    assert browser.post(url, {"action": "profile", "goals_category": "health",
                              "strengths": "running, cooking", "waiting": "on"}
                        ).status_code == 302
    html = browser.get(url).content.decode()
    assert "running, cooking" in html


def test_the_goal_page_edits_with_field_errors(browser, tenant, rows):
    url = f"/o/{tenant.slug}/community/goals/{rows['goal'].pk}/"
    bad = browser.post(url, {"title": "Run", "progress": "half", "status": "ACTIVE"})
    assert bad.status_code == 422
    assert "Enter a percentage from 0 to 100." in bad.content.decode()
    assert browser.post(url, {"title": "Run a marathon", "progress": "55",
                              "status": "ACTIVE", "summary": "Week 3 done"}
                        ).status_code == 302
    html = browser.get(url).content.decode()
    assert "Run a marathon" in html and "55%" in html and "Week 3 done" in html


def test_the_meeting_page_keeps_notes_and_ratings(browser, tenant, rows):
    url = f"/o/{tenant.slug}/community/pod-meetings/{rows['meeting'].pk}/"
    person = rows["person"]
    bad = browser.post(url, {"action": "notes", "energy_level": "12", "status": "SCHEDULED"})
    assert bad.status_code == 422 and "Enter a number from 1 to 10." in bad.content.decode()
    assert browser.post(url, {"action": "notes", "agenda": "Wins", "notes": "Rana ran 10 km",
                              "action_items": "Book the race\n\nBuy shoes",
                              "energy_level": "7", "status": "COMPLETED"}
                        ).status_code == 302
    with tenant_scope(tenant):
        meeting = PodMeeting.objects.get()
    assert meeting.action_items == ["Book the race", "Buy shoes"]
    assert (meeting.notes, meeting.energy_level, meeting.status) == ("Rana ran 10 km", 7,
                                                                     "COMPLETED")
    bad = browser.post(url, {"action": "attendance", f"m-{person.pk}": "yes",
                             f"rating-{person.pk}": "9"})
    assert bad.status_code == 422 and "Enter a rating from 1 to 5." in bad.content.decode()
    bad = browser.post(url, {"action": "attendance", f"m-{person.pk}": "yes",
                             f"rating-{person.pk}": "\u00b2"})
    assert bad.status_code == 422 and "Enter a rating from 1 to 5." in bad.content.decode()
    with tenant_scope(tenant):
        assert not MeetingAttendance.objects.exists()
    assert browser.post(url, {"action": "attendance", f"m-{person.pk}": "yes",
                              f"rating-{person.pk}": "4"}).status_code == 302
    with tenant_scope(tenant):
        answer = MeetingAttendance.objects.get()
    assert (answer.attended, answer.rating) == (True, 4)


def test_the_pod_page_edits_the_pod_and_its_time_zone_range(browser, tenant, rows):
    url = f"/o/{tenant.slug}/community/pods/{rows['pod'].pk}/"
    base = {"action": "edit", "name": "Runners", "day_of_week": "3", "time": "06:30",
            "time_zone": "Asia/Amman", "capacity": "8", "duration_minutes": "45",
            "status": "ACTIVE", "target_experience_level": ""}
    bad = browser.post(url, {**base, "capacity": "1", "target_utc_offset_min": "east",
                             "target_utc_offset_max": "+4"})
    assert bad.status_code == 422 and "Enter hours from UTC" in bad.content.decode()
    bad = browser.post(url, {**base, "capacity": "1", "target_utc_offset_min": "+5",
                             "target_utc_offset_max": "+4"})
    assert bad.status_code == 422
    assert "The range must end at or after its start." in bad.content.decode()
    assert "Enter a number from 2 to 50." in bad.content.decode()
    ok = browser.post(url, {**base, "target_utc_offset_min": "+2",
                            "target_utc_offset_max": "4:30"})
    assert ok.status_code == 302
    with tenant_scope(tenant):
        pod = Pod.objects.get()
    assert (pod.day_of_week, pod.time_zone, pod.capacity, pod.target_utc_offset_min,
            pod.target_utc_offset_max) == (3, "Asia/Amman", 8, 120, 270)
    assert 'value="+4.5"' in browser.get(url).content.decode()


def test_pages_of_another_organization_are_404(make_tenant, make_user, rows, tenant):
    stranger = make_user("stranger@example.com")
    make_tenant("Other Club", slug="other", owner=stranger)
    client = Client()
    client.force_login(stranger)
    for path in (f"community/commitments/{rows['commitment'].pk}/",
                 f"community/goals/{rows['goal'].pk}/",
                 f"community/pod-meetings/{rows['meeting'].pk}/",
                 f"community/people/{rows['person'].pk}/progress/"):
        assert client.get(f"/o/other/{path}").status_code == 404, path
        assert client.post(f"/o/other/{path}", {"action": "edit", "text": "x"}
                           ).status_code == 404, path
    with tenant_scope(tenant):
        assert Commitment.objects.get().text == "get fit"


def test_a_viewer_sees_no_forms_and_cannot_post(tenant, make_user, rows):
    from tend.core.tests.apitools import add_member

    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, role="viewer")
    client = Client()
    client.force_login(viewer)
    url = f"/o/{tenant.slug}/community/commitments/{rows['commitment'].pk}/"
    page = client.get(url)  # viewers hold pods.view
    assert page.status_code == 200 and "commitment-form" not in page.content.decode()
    assert client.post(url, {"action": "edit", "text": "x"}).status_code == 403


def test_people_outside_the_staff_members_visibility_are_404(api, browser, tenant, rows):
    from django.db.models import Q

    from tend.people.visibility import register_contact_scope, unregister_contact_scope

    hidden = rows["person"].pk

    def limit(*, tenant, actor):
        return ~Q(pk=hidden)

    register_contact_scope(limit)
    try:
        commitment, goal = rows["commitment"].pk, rows["goal"].pk
        assert api.get(f"{API}/community/commitments/{commitment}").status_code == 404
        assert patch(api, f"{API}/community/commitments/{commitment}",
                     {"text": "x y z"}).status_code == 404
        assert api.get(f"{API}/community/goals/{goal}").status_code == 404
        assert patch(api, f"{API}/community/goals/{goal}", {"progress": 5}).status_code == 404
        for path in (f"commitments/{commitment}/", f"goals/{goal}/",
                     f"people/{hidden}/progress/"):
            assert browser.get(f"/o/{tenant.slug}/community/{path}").status_code == 404
    finally:
        unregister_contact_scope(limit)
    assert api.get(f"{API}/community/commitments/{commitment}").status_code == 200


def test_membership_payment_and_pause(api, browser, tenant, rows):
    from tend.community.models import PodMembership

    with tenant_scope(tenant):
        membership = PodMembership.objects.get()
    url = f"{API}/community/pod-memberships/{membership.pk}"
    bad = patch(api, url, {"status": "LEFT"})
    assert bad.status_code == 422 and fields(bad) == {"status"}
    future = patch(api, url, {"last_payment_at": "2099-01-01T10:00:00Z"})
    assert future.status_code == 422 and fields(future) == {"last_payment_at"}
    ok = patch(api, url, {"status": "PAUSED", "payment_active": True,
                          "last_payment_at": "2026-10-01T09:30:00Z"})
    assert ok.status_code == 200, ok.content
    assert (ok.json()["status"], ok.json()["payment_active"]) == ("PAUSED", True)
    assert ok.json()["last_payment_at"].startswith("2026-10-01T09:30")

    page = f"/o/{tenant.slug}/community/pods/{rows['pod'].pk}/"
    bad = browser.post(page, {"action": "membership", "membership_id": str(membership.pk),
                              "status": "ACTIVE", "last_payment_at": "yesterday"})
    assert bad.status_code == 422 and "Enter a date like" in bad.content.decode()
    assert browser.post(page, {"action": "membership", "membership_id": str(membership.pk),
                               "status": "ACTIVE", "last_payment_at": "2026-11-01"}
                        ).status_code == 302
    with tenant_scope(tenant):
        membership.refresh_from_db()
    assert (membership.status, membership.payment_active) == ("ACTIVE", False)
    assert membership.last_payment_at.date().isoformat() == "2026-11-01"


def test_the_pod_page_answers_bad_ids_and_hours_without_a_server_error(browser, tenant, rows):
    url = f"/o/{tenant.slug}/community/pods/{rows['pod'].pk}/"
    for action in ("membership", "leave"):
        for bad_id in ("not-a-uuid", "", "00000000-0000-0000-0000-000000000000"):
            answer = browser.post(url, {"action": action, "membership_id": bad_id,
                                        "status": "ACTIVE"})
            assert answer.status_code == 404, (action, bad_id)
    base = {"action": "edit", "name": "Runners", "time": "07:00"}
    for hours in ("inf", "-inf", "nan", "1e400"):
        bad = browser.post(url, {**base, "target_utc_offset_min": hours})
        assert bad.status_code == 422 and "Enter hours from UTC" in bad.content.decode(), hours


def test_the_pod_page_adds_only_people_the_staff_member_may_see(browser, tenant, rows):
    from tend.people.visibility import register_contact_scope, unregister_contact_scope

    hidden = make_contact(tenant, first_name="Hidden")
    url = f"/o/{tenant.slug}/community/pods/{rows['pod'].pk}/"

    def limit(*, tenant, actor):
        from django.db.models import Q

        return ~Q(pk=hidden.pk)

    register_contact_scope(limit)
    try:
        bad = browser.post(url, {"action": "member", "contact_id": str(hidden.pk)})
    finally:
        unregister_contact_scope(limit)
    assert bad.status_code == 422
    assert "Choose a contact of this organization." in bad.content.decode()
    with tenant_scope(tenant):
        assert not PodMembership.objects.filter(contact=hidden).exists()
    assert browser.post(url, {"action": "member", "contact_id": str(hidden.pk)}
                        ).status_code == 302
