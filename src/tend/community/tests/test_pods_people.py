"""Pods data follows people: merging two contacts (both in the same pod, both answering for
the same meeting) keeps one membership with true counts and no duplicate-key error; the
privacy export holds the pods data and the eraser scrubs it and leaves the pods; joining,
leaving and completing a commitment land on the contact's timeline."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.utils import timezone

from tend.community.models import (
    Commitment,
    CommitmentCheckIn,
    Goal,
    MatchingRun,
    MeetingAttendance,
    Pod,
    PodMeeting,
    PodMembership,
    PodsProfile,
)
from tend.community.services.commitments import (
    commitment_check_in,
    commitment_create,
    goal_create,
)
from tend.community.services.pods_core import (
    attendance_record,
    pod_create,
    pod_join,
    pod_leave,
    profile_update,
)
from tend.core.actors import Actor
from tend.people.models import Activity, Contact
from tend.people.services.merge import contact_merge
from tend.people.services.privacy import contact_erase, privacy_export_build

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def _person(tenant, name):
    return Contact.objects.create(tenant=tenant, first_name=name, display_name=name)


@pytest.fixture
def pair(scoped):
    """Two records of Rana, both in the "Writers" pod (capacity 3), each with a commitment,
    a goal and a profile; both answered for the first meeting, only the loser for the
    second. The loser alone is also in "Runners"."""
    winner, loser = _person(scoped, "Rana"), _person(scoped, "Rana H")
    writers = pod_create(tenant=scoped, actor=SYSTEM, data={"name": "Writers", "time": "19:00",
                                                            "capacity": 3})
    runners = pod_create(tenant=scoped, actor=SYSTEM, data={"name": "Runners", "time": "07:00"})
    for person in (winner, loser):
        pod_join(tenant=scoped, actor=SYSTEM, pod=writers, contact=person)
    pod_join(tenant=scoped, actor=SYSTEM, pod=runners, contact=loser)
    now = timezone.now()
    first = PodMeeting.objects.create(tenant=scoped, pod=writers, scheduled_at=now)
    second = PodMeeting.objects.create(tenant=scoped, pod=writers,
                                       scheduled_at=now - timezone.timedelta(days=7))
    attendance_record(tenant=scoped, actor=SYSTEM, meeting=first, contact=winner,
                      attended=True)
    attendance_record(tenant=scoped, actor=SYSTEM, meeting=first, contact=loser,
                      attended=False, rating=2)
    attendance_record(tenant=scoped, actor=SYSTEM, meeting=second, contact=loser,
                      attended=True, rating=5)
    profile_update(tenant=scoped, actor=SYSTEM, contact=winner,
                   data={"strengths": ["editing"], "bio": ""})
    profile_update(tenant=scoped, actor=SYSTEM, contact=loser,
                   data={"strengths": ["plotting", "editing"], "bio": "Poet in Irbid",
                         "help_needed": ["discipline"]})
    for person, text in ((winner, "write 500 words today"), (loser, "read 20 pages today")):
        commitment = commitment_create(tenant=scoped, actor=SYSTEM, contact=person, text=text)
        commitment_check_in(tenant=scoped, actor=SYSTEM, commitment=commitment, done=True,
                            note=f"{text} — done")
        goal_create(tenant=scoped, actor=SYSTEM, contact=person,
                    data={"title": f"Goal of {person.display_name}"})
    run = MatchingRun.objects.create(tenant=scoped, proposal={"assignments": [
        {"contact_id": str(loser.pk), "name": "Rana H", "pod": "new-1", "score": 1,
         "reasons": []}], "new_pods": []})
    return {"winner": winner, "loser": loser, "writers": writers, "runners": runners,
            "first": first, "second": second, "run": run}


def test_merging_two_people_of_the_same_pod(scoped, pair):
    winner, loser, writers = pair["winner"], pair["loser"], pair["writers"]
    assert Pod.objects.get(pk=writers.pk).member_count == 2

    contact_merge(tenant=scoped, actor=SYSTEM, winner=winner, loser=loser)

    [kept] = PodMembership.objects.filter(pod=writers)
    assert kept.contact_id == winner.pk and kept.status == "ACTIVE"
    # The winner's own answer for the first meeting stays; the second comes from the loser.
    assert (kept.meetings_attended, kept.meetings_missed) == (2, 0)
    first = MeetingAttendance.objects.get(meeting=pair["first"])
    assert (first.contact_id, first.attended, first.rating) == (winner.pk, True, 2)
    assert PodMeeting.objects.get(pk=pair["first"].pk).attendance_rate == 100.0
    assert Pod.objects.get(pk=writers.pk).member_count == 1
    assert PodMembership.objects.get(pod=pair["runners"]).contact_id == winner.pk
    assert not PodMembership.objects.filter(contact=loser).exists()
    assert Commitment.objects.filter(contact=winner).count() == 2
    assert CommitmentCheckIn.objects.filter(contact=winner).count() == 2
    assert Goal.objects.filter(contact=winner).count() == 2
    [profile] = PodsProfile.objects.filter(contact__in=[winner, loser])
    assert profile.contact_id == winner.pk
    assert profile.strengths == ["editing", "plotting"]
    assert (profile.bio, profile.help_needed) == ("Poet in Irbid", ["discipline"])
    assert (profile.total_commitments, profile.active_commitments) == (2, 2)
    assert profile.current_streak == 1
    [item] = MatchingRun.objects.get(pk=pair["run"].pk).proposal["assignments"]
    assert item["contact_id"] == str(winner.pk)


def test_a_full_pod_opens_a_place_when_its_two_members_merge(scoped, pair):
    third = _person(scoped, "Omar")
    pod_join(tenant=scoped, actor=SYSTEM, pod=pair["writers"], contact=third)
    assert Pod.objects.get(pk=pair["writers"].pk).status == "FULL"
    contact_merge(tenant=scoped, actor=SYSTEM, winner=pair["winner"], loser=pair["loser"])
    pod = Pod.objects.get(pk=pair["writers"].pk)
    assert (pod.member_count, pod.status) == (2, "ACTIVE")


def test_the_export_holds_the_pods_data(scoped, pair):
    content = privacy_export_build(tenant=scoped, actor=SYSTEM, contact=pair["loser"])
    data = json.loads(zipfile.ZipFile(io.BytesIO(content)).read("pods.json"))
    assert data["profile"]["bio"] == "Poet in Irbid"
    assert sorted(m["pod"] for m in data["memberships"]) == ["Runners", "Writers"]
    assert [a["rating"] for a in data["attendance"]] == [5, 2]
    [commitment] = data["commitments"]
    assert commitment["text"] == "read 20 pages today"
    assert commitment["check_ins"][0]["note"] == "read 20 pages today — done"
    assert data["goals"][0]["title"] == "Goal of Rana H"


def test_the_eraser_scrubs_texts_and_leaves_the_pods(scoped, pair):
    loser = pair["loser"]
    contact_erase(tenant=scoped, actor=SYSTEM, contact=loser, confirmation="ERASE")
    assert Commitment.objects.get(contact=loser).text == "[erased]"
    assert CommitmentCheckIn.objects.get(contact=loser).note == ""
    assert Goal.objects.get(contact=loser).title == "[erased]"
    profile = PodsProfile.objects.get(contact=loser)
    assert (profile.bio, profile.strengths, profile.help_needed) == ("", [], [])
    assert set(PodMembership.objects.filter(contact=loser).values_list("status", flat=True)
               ) == {"LEFT"}
    assert Pod.objects.get(pk=pair["writers"].pk).member_count == 1
    assert MatchingRun.objects.get(pk=pair["run"].pk).proposal["assignments"] == []
    # Counts stay: the attendance rows and the commitment remain.
    assert MeetingAttendance.objects.filter(contact=loser).count() == 2
    assert PodsProfile.objects.get(contact=loser).total_commitments == 1


def test_joining_leaving_and_completing_are_on_the_timeline(scoped):
    person = _person(scoped, "Huda")
    pod = pod_create(tenant=scoped, actor=SYSTEM, data={"name": "Makers", "time": "18:00"})
    membership = pod_join(tenant=scoped, actor=SYSTEM, pod=pod, contact=person)
    pod_join(tenant=scoped, actor=SYSTEM, pod=pod, contact=person)  # already in: no new row
    pod_leave(tenant=scoped, actor=SYSTEM, membership=membership)
    commitment = commitment_create(tenant=scoped, actor=SYSTEM, contact=person,
                                   text="ship the prototype by Friday")
    commitment_check_in(tenant=scoped, actor=SYSTEM, commitment=commitment, done=True,
                        complete=True)
    rows = list(Activity.objects.filter(contact=person).order_by("occurred_at", "id")
                .values_list("type", "title", "category"))
    assert rows == [("POD_JOINED", "Makers", "COMMUNITY"), ("POD_LEFT", "Makers", "COMMUNITY"),
                    ("COMMITMENT_COMPLETED", "ship the prototype by Friday", "COMMUNITY")]
    from tend.people.timeline import render_activity

    titles = [render_activity(a).title for a in Activity.objects.filter(contact=person)
              .order_by("occurred_at", "id")]
    assert titles == ["Joined the pod Makers", "Left the pod Makers",
                      "Completed a commitment: ship the prototype by Friday"]
