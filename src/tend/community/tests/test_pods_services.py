"""Pods services: next meeting across a DST change, capacity (and under concurrency on
PostgreSQL), meetings and attendance (form, CSV), health figures, the profile."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time

import pytest
from django.db import connection

from tend.community.models import MeetingAttendance, Pod, PodMembership, PodsProfile
from tend.community.services.pods_core import (
    attendance_import,
    attendance_record,
    meetings_generate,
    next_meeting_at,
    pod_create,
    pod_join,
    pod_leave,
    pod_refresh_health,
    pod_update,
    profile_update,
)
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.tenancy import tenant_scope
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


def _pod(tenant, actor, **data):
    base = {"name": "Morning movers", "day_of_week": 1, "time": "18:00",
            "time_zone": "Europe/Berlin", "capacity": 3}
    return pod_create(tenant=tenant, actor=actor, data={**base, **data})


def test_next_meeting_follows_the_pods_wall_clock_across_dst(scoped, actor):
    pod = _pod(scoped, actor)
    # Berlin is UTC+1 until 29 March 2026 and UTC+2 after: 18:00 local moves from 17:00 UTC
    # to 16:00 UTC.
    before = next_meeting_at(pod, datetime(2026, 3, 24, 12, 0, tzinfo=UTC))
    after = next_meeting_at(pod, before)
    assert next_meeting_at(pod, datetime(2026, 3, 20, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 23, 17, 0, tzinfo=UTC)
    assert next_meeting_at(pod, datetime(2026, 3, 24, 12, 0, tzinfo=UTC)) == datetime(
        2026, 3, 30, 16, 0, tzinfo=UTC)
    assert after == datetime(2026, 4, 6, 16, 0, tzinfo=UTC)
    # At 18:00 local exactly, the next one is a week later.
    assert next_meeting_at(pod, datetime(2026, 3, 30, 16, 0, tzinfo=UTC)) == datetime(
        2026, 4, 6, 16, 0, tzinfo=UTC)


def test_a_time_skipped_by_dst_moves_forward(scoped, actor):
    # Sunday 29 March 2026, 02:30 does not exist in Berlin: the meeting is at 03:30 CEST.
    pod = _pod(scoped, actor, day_of_week=7, time="02:30")
    assert next_meeting_at(pod, datetime(2026, 3, 28, 0, 0, tzinfo=UTC)) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC)


def test_generated_meetings_are_weekly_and_not_duplicated(scoped, actor):
    pod = _pod(scoped, actor)
    start = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    first = meetings_generate(tenant=scoped, pod=pod, weeks=3, after=start)
    again = meetings_generate(tenant=scoped, pod=pod, weeks=3, after=start)
    assert [m.scheduled_at.hour for m in first] == [17, 16, 16]
    assert [m.pk for m in first] == [m.pk for m in again]
    assert pod.meetings.count() == 3


def test_pod_validation_gives_field_errors(scoped, actor):
    with pytest.raises(ValidationFailed) as err:
        pod_create(tenant=scoped, actor=actor, data={"name": "", "time": "25:00",
                                                     "time_zone": "Mars/Base", "day_of_week": 9,
                                                     "capacity": 1})
    assert set(err.value.fields) == {"name", "time", "time_zone", "day_of_week", "capacity"}


def test_capacity_full_status_and_leaving(scoped, actor):
    pod = _pod(scoped, actor, capacity=2)
    a, b, c = (make_contact(scoped, first_name=n) for n in ("A", "B", "C"))
    profile_update(tenant=scoped, actor=actor, contact=a, data={"waiting": True})
    first = pod_join(tenant=scoped, actor=actor, pod=pod, contact=a)
    assert pod_join(tenant=scoped, actor=actor, pod=pod, contact=a).pk == first.pk
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=b)
    pod.refresh_from_db()
    assert (pod.member_count, pod.status) == (2, "FULL")
    assert PodsProfile.objects.get(contact=a).waiting is False
    with pytest.raises(ValidationFailed) as err:
        pod_join(tenant=scoped, actor=actor, pod=pod, contact=c)
    assert "pod_id" in err.value.fields
    pod_leave(tenant=scoped, actor=actor, membership=first)
    pod.refresh_from_db()
    assert (pod.member_count, pod.status) == (1, "ACTIVE")
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=c)
    again = pod_join(tenant=scoped, actor=actor, pod=_pod(scoped, actor, name="Other"),
                     contact=a)
    assert again.status == "ACTIVE"
    pod_update(tenant=scoped, actor=actor, pod=pod, data={"capacity": 3})
    pod.refresh_from_db()
    assert (pod.capacity, pod.status) == (3, "ACTIVE")


def test_viewers_cannot_change_pods(scoped, actor, make_user):
    viewer = make_user("viewer@example.com")
    add_member(scoped, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        _pod(scoped, member_actor(scoped, viewer))


def test_attendance_counts_rates_and_health(scoped, actor):
    pod = _pod(scoped, actor)
    a, b = make_contact(scoped, first_name="A"), make_contact(scoped, first_name="B")
    outsider = make_contact(scoped, first_name="Out")
    for person in (a, b):
        pod_join(tenant=scoped, actor=actor, pod=pod, contact=person)
    [meeting] = meetings_generate(tenant=scoped, pod=pod, weeks=1)
    attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=a, attended=True,
                      rating=5)
    attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=b, attended=True,
                      rating=3)
    # Changing an answer moves the count, it does not add one.
    attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=b, attended=False)
    meeting.refresh_from_db()
    assert (meeting.attendance_rate, meeting.status) == (50.0, "COMPLETED")
    counts = dict(PodMembership.objects.filter(pod=pod).values_list(
        "contact__first_name", "meetings_missed"))
    assert counts == {"A": 0, "B": 1}
    with pytest.raises(ValidationFailed):
        attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=outsider,
                          attended=True)
    with pytest.raises(ValidationFailed):
        attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=a,
                          attended=True, rating=9)
    pod_refresh_health(tenant=scoped, pod=pod)
    pod.refresh_from_db()
    assert (pod.attendance_rate, pod.satisfaction) == (50.0, 5.0)


def test_attendance_csv_import(scoped, actor):
    pod = _pod(scoped, actor)
    a = make_contact(scoped, first_name="A")
    b = make_contact(scoped, first_name="B", primary_email="b@example.com")
    for person in (a, b):
        pod_join(tenant=scoped, actor=actor, pod=pod, contact=person)
    meetings_generate(tenant=scoped, pod=pod, weeks=1,
                      after=datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    content = ("date,contact_id,email,attended,rating\n"
               f"2026-03-23,{a.pk},,yes,4\n"
               "2026-03-23,,B@example.com,no,\n"
               "2026-03-24,,b@example.com,yes,\n")
    result = attendance_import(tenant=scoped, actor=actor, pod=pod, content=content)
    assert result["recorded"] == 2
    assert [p["line"] for p in result["problems"]] == [4]
    assert sorted(MeetingAttendance.objects.values_list("contact__first_name", "attended",
                                                        "source")) == [
        ("A", True, "import"), ("B", False, "import")]
    with pytest.raises(ValidationFailed):
        attendance_import(tenant=scoped, actor=actor, pod=pod, content="name\nx\n")


def test_attendance_import_aggregates_each_meeting_once(scoped, actor):
    from django.test.utils import CaptureQueriesContext

    from tend.community.models import PodMeeting

    pod = _pod(scoped, actor)
    people = [make_contact(scoped, first_name=name) for name in "ABC"]
    for person in people:
        pod_join(tenant=scoped, actor=actor, pod=pod, contact=person)
    meetings_generate(tenant=scoped, pod=pod, weeks=1,
                      after=datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    content = "date,contact_id,attended,rating\n" + "".join(
        f"2026-03-23,{p.pk},{'yes' if i else 'no'},{'' if i < 2 else 'great'}\n"
        for i, p in enumerate(people))
    with CaptureQueriesContext(connection) as queries:
        result = attendance_import(tenant=scoped, actor=actor, pod=pod, content=content)
    assert result == {"recorded": 2, "problems": [{"line": 4, "error": "Bad rating."}]}
    rates = [q["sql"] for q in queries.captured_queries
             if "COUNT" in q["sql"] and "meetingattendance" in q["sql"].lower()]
    assert len(rates) == 1
    meeting = PodMeeting.objects.get(pod=pod)
    assert (meeting.attendance_rate, meeting.status) == (50.0, "COMPLETED")


def test_attendance_import_refuses_more_than_the_row_cap(scoped, actor, monkeypatch):
    from tend.community.services import pods_core

    pod = _pod(scoped, actor)
    person = make_contact(scoped, first_name="A")
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=person)
    meetings_generate(tenant=scoped, pod=pod, weeks=1,
                      after=datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    rows = "".join(f"2026-03-23,{person.pk},yes\n" for _ in range(5001))
    with pytest.raises(ValidationFailed) as refused:
        attendance_import(tenant=scoped, actor=actor, pod=pod,
                          content="date,contact_id,attended\n" + rows)
    assert refused.value.fields == {"file": ["At most 5000 rows at a time: split the file."]}
    assert not MeetingAttendance.objects.exists()
    # Exactly the cap is accepted (a smaller cap keeps the test quick).
    monkeypatch.setattr(pods_core, "MAX_IMPORT_ROWS", 2)
    two = "".join(f"2026-03-23,{person.pk},yes\n" for _ in range(2))
    assert attendance_import(tenant=scoped, actor=actor, pod=pod,
                             content="date,contact_id,attended\n" + two)["recorded"] == 2
    with pytest.raises(ValidationFailed):
        attendance_import(tenant=scoped, actor=actor, pod=pod,
                          content="date,contact_id,attended\n" + two + two)


def test_profile_fields_are_cleaned(scoped, actor):
    person = make_contact(scoped)
    profile = profile_update(tenant=scoped, actor=actor, contact=person, data={
        "goals_category": "Health", "experience_level": "BEGINNER",
        "strengths": "Marketing, discipline, marketing", "help_needed": ["Time management"]})
    assert (profile.goals_category, profile.strengths, profile.help_needed) == (
        "health", ["marketing", "discipline"], ["time management"])
    with pytest.raises(ValidationFailed) as err:
        profile_update(tenant=scoped, actor=actor, contact=person,
                       data={"experience_level": "GURU", "meeting_style": "LOUD"})
    assert set(err.value.fields) == {"experience_level", "meeting_style"}


@pytest.mark.django_db(transaction=True)
def test_capacity_holds_when_many_join_at_once(tenant, owner):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer)")
    actor = member_actor(tenant, owner)
    with tenant_scope(tenant):
        pod = _pod(tenant, actor, capacity=4)
        people = [make_contact(tenant, first_name=f"P{i}") for i in range(12)]
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def join(person) -> None:
        try:
            with tenant_scope(tenant):
                barrier.wait()
                try:
                    pod_join(tenant=tenant, actor=actor, pod=pod, contact=person)
                    outcomes.append("in")
                except ValidationFailed:
                    outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 8 + ["in"] * 4
    with tenant_scope(tenant):
        assert PodMembership.objects.filter(pod=pod).count() == 4
        assert Pod.objects.get(pk=pod.pk).member_count == 4


def test_time_field_accepts_time_objects(scoped, actor):
    pod = _pod(scoped, actor, time=time(7, 15))
    assert pod.time == time(7, 15)


def test_health_gives_each_member_a_contribution_score(scoped, actor):
    from tend.community.models import PodMembership
    from tend.community.services.commitments import commitment_check_in, commitment_create

    pod = _pod(scoped, actor)
    a = make_contact(scoped, first_name="A")
    b = make_contact(scoped, first_name="B")
    c = make_contact(scoped, first_name="C")
    for person in (a, b, c):
        pod_join(tenant=scoped, actor=actor, pod=pod, contact=person)
    meetings = meetings_generate(tenant=scoped, pod=pod, weeks=2)
    for meeting, seen in zip(meetings, (True, False), strict=True):
        attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=a, attended=True)
        attendance_record(tenant=scoped, actor=actor, meeting=meeting, contact=b, attended=seen)
    for done in (True, False):
        commitment = commitment_create(tenant=scoped, actor=actor, contact=a, text="run 5 km")
        commitment_check_in(tenant=scoped, actor=actor, commitment=commitment, done=done,
                            complete=True)
    pod_refresh_health(tenant=scoped, pod=pod)
    scores = dict(PodMembership.objects.filter(pod=pod).values_list("contact_id",
                                                                    "contribution_score"))
    # A: every meeting (60) and half the finished commitments (20); B: half the meetings
    # and no finished commitment (the attendance share counts fully); C: nothing known.
    assert scores == {a.pk: 80.0, b.pk: 50.0, c.pk: None}
    pod.refresh_from_db()
    assert (pod.attendance_rate, pod.completion_rate) == (75.0, 50.0)
