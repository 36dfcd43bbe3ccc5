"""Pod matching: time zones within three hours, goals, experience balance, style, strengths
meeting needs; deterministic; new pods; review, adjust, confirm with intro cards."""

from __future__ import annotations

import random

import pytest

from tend.community.models import MatchingRun, Pod, PodMembership
from tend.community.services.matching import (
    Person,
    Slot,
    match,
    matching_adjust,
    matching_confirm,
    matching_propose,
)
from tend.community.services.pods_core import pod_create, pod_join, profile_update
from tend.core.errors import ValidationFailed
from tend.messaging.models import Message
from tend.people.models import IdentityAlias
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db


def _person(i, offset=0, goal="health", level="BEGINNER", style="SUPPORTIVE", strengths=(),
            needs=()):
    return Person(id=f"p{i:03}", name=f"P{i}", offset=offset, time_zone="UTC", goal=goal,
                  level=level, style=style, strengths=frozenset(strengths),
                  needs=frozenset(needs))


def test_never_more_than_three_hours_apart():
    people = [_person(1, offset=0), _person(2, offset=240), _person(3, offset=-180)]
    slots = [Slot(key="pod-utc", offset=0, time_zone="UTC", room=6, goal="health")]
    result = match(people, slots)
    where = {a["contact_id"]: a["pod"] for a in result["assignments"]}
    assert where["p001"] == "pod-utc" and where["p003"] == "pod-utc"
    assert where["p002"].startswith("new-")


def test_goals_style_and_strengths_decide_between_pods():
    slots = [Slot(key="a-business", offset=60, time_zone="X", room=3, goal="business"),
             Slot(key="b-health", offset=60, time_zone="X", room=3, goal="health")]
    helper = _person(1, goal="business", strengths={"marketing"})
    slots[0].add(helper)
    needy = _person(2, goal="", needs={"marketing"})
    result = match([needy], slots)
    [one] = result["assignments"]
    assert one["pod"] == "a-business"
    assert "members can help with marketing" in one["reasons"]
    healthy = match([_person(3, goal="health")], [
        Slot(key="a-business", offset=0, time_zone="X", room=3, goal="business"),
        Slot(key="b-health", offset=0, time_zone="X", room=3, goal="health")])
    assert healthy["assignments"][0]["pod"] == "b-health"


def test_capacity_and_experience_balance():
    people = [_person(i, level=["BEGINNER", "ADVANCED"][i % 2]) for i in range(8)]
    result = match(people, [Slot(key="only", offset=0, time_zone="UTC", room=3,
                                 goal="health")], pod_size=4)
    counts: dict[str, int] = {}
    for a in result["assignments"]:
        counts[a["pod"]] = counts.get(a["pod"], 0) + 1
    assert counts["only"] == 3
    assert sum(counts.values()) == 8 and max(counts.values()) <= 4


def test_the_same_input_gives_the_same_proposal():
    rng = random.Random(7)
    people = [_person(i, offset=rng.choice([-300, -240, 0, 60, 180, 240]),
                      goal=rng.choice(["health", "business", "learning"]),
                      level=rng.choice(["BEGINNER", "INTERMEDIATE", "ADVANCED"]),
                      strengths={rng.choice(["tech", "discipline", "marketing"])},
                      needs={rng.choice(["tech", "discipline", "motivation"])})
              for i in range(60)]

    def run(order):
        return match(order, [Slot(key="s1", offset=0, time_zone="UTC", room=4, goal="health")])

    shuffled = people[:]
    rng.shuffle(shuffled)
    assert run(people) == run(shuffled)
    result = run(people)
    assert all(a["pod"] for a in result["assignments"])
    sizes = [n["size"] for n in result["new_pods"]]
    assert all(1 <= s <= 6 for s in sizes)


def test_propose_adjust_confirm(scoped, tenant, owner):
    actor = member_actor(tenant, owner)
    pod = pod_create(tenant=scoped, actor=actor, data={
        "name": "Dubai evenings", "time": "19:00", "time_zone": "Asia/Dubai", "capacity": 3,
        "target_goals_category": "business"})
    old = make_contact(scoped, first_name="Old", time_zone="Asia/Dubai")
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=old)
    people = []
    for name, zone, goal in (("Amal", "Asia/Riyadh", "business"),
                             ("Badr", "Asia/Dubai", "business"),
                             ("Cora", "America/New_York", "health")):
        person = make_contact(scoped, first_name=name, display_name=name, time_zone=zone)
        profile_update(tenant=scoped, actor=actor, contact=person,
                       data={"waiting": True, "goals_category": goal, "bio": f"I am {name}"})
        IdentityAlias.objects.create(tenant=scoped, contact=person, type="EMAIL",
                                     value=f"{name.lower()}@example.com")
        people.append(person)
    run = matching_propose(tenant=scoped, actor=actor)
    where = {a["name"]: a["pod"] for a in run.proposal["assignments"]}
    assert where["Amal"] == where["Badr"] == str(pod.pk)
    assert where["Cora"] == "new-1"
    assert run.proposal["new_pods"][0]["time_zone"] == "America/New_York"
    # Staff keep Badr waiting.
    matching_adjust(tenant=scoped, actor=actor, run=run, contact_id=str(people[1].pk), pod="")
    with pytest.raises(ValidationFailed):
        matching_adjust(tenant=scoped, actor=actor, run=run, contact_id=str(people[1].pk),
                        pod="new-99")
    result = matching_confirm(tenant=scoped, actor=actor, run=run)
    assert result == {"pods_created": 1, "memberships": 2, "messages": 2}
    assert sorted(PodMembership.objects.values_list("contact__first_name", flat=True)) == [
        "Amal", "Cora", "Old"]
    new_pod = Pod.objects.get(target_goals_category="health")
    assert (new_pod.time_zone, new_pod.member_count) == ("America/New_York", 1)
    card = Message.objects.get(contact=people[0])
    assert card.body.startswith("Welcome to Dubai evenings!")
    assert "Amal — goals: business" in card.body and "I am Amal" in card.body
    assert MatchingRun.objects.get().status == "CONFIRMED"
    with pytest.raises(ValidationFailed):
        matching_confirm(tenant=scoped, actor=actor, run=run)


def test_a_pods_target_time_zone_range_is_a_hard_limit():
    # Both people are within three hours of the pod, but the pod only takes UTC+1 to UTC+3.
    people = [_person(1, offset=0), _person(2, offset=120)]
    slots = [Slot(key="pod-cairo", offset=120, time_zone="Africa/Cairo", room=6, goal="health",
                  lo=60, hi=180)]
    result = match(people, slots)
    where = {a["contact_id"]: a for a in result["assignments"]}
    assert where["p002"]["pod"] == "pod-cairo"
    assert "within the pod's time-zone range" in where["p002"]["reasons"]
    assert where["p001"]["pod"].startswith("new-")
    # Without the range, the same person joins the pod.
    slots = [Slot(key="pod-cairo", offset=120, time_zone="Africa/Cairo", room=6, goal="health")]
    again = {a["contact_id"]: a["pod"] for a in match(people, slots)["assignments"]}
    assert again["p001"] == "pod-cairo"


def test_propose_reads_the_pods_range(tenant, owner):
    actor = member_actor(tenant, owner)
    from tend.core.tenancy import tenant_scope

    with tenant_scope(tenant):
        pod = pod_create(tenant=tenant, actor=actor, data={
            "name": "Gulf evenings", "time": "19:00", "time_zone": "Asia/Dubai",
            "target_goals_category": "health", "target_utc_offset_min": 210,
            "target_utc_offset_max": 300})
        # Istanbul (UTC+3) is an hour from Dubai, but outside the pod's UTC+3:30 to +5.
        istanbul = make_contact(tenant, first_name="Tom", time_zone="Europe/Istanbul")
        muscat = make_contact(tenant, first_name="Sara", time_zone="Asia/Muscat")
        for person in (istanbul, muscat):
            profile_update(tenant=tenant, actor=actor, contact=person,
                           data={"waiting": True, "goals_category": "health"})
        run = matching_propose(tenant=tenant, actor=actor)
    where = {a["contact_id"]: a["pod"] for a in run.proposal["assignments"]}
    assert where[str(muscat.pk)] == str(pod.pk)
    assert where[str(istanbul.pk)] != str(pod.pk)


def test_the_range_is_checked(tenant, owner):
    actor = member_actor(tenant, owner)
    from tend.core.tenancy import tenant_scope

    with tenant_scope(tenant), pytest.raises(ValidationFailed) as caught:
        pod_create(tenant=tenant, actor=actor, data={
            "name": "X", "time": "19:00", "target_utc_offset_min": 300,
            "target_utc_offset_max": 60})
    assert set(caught.value.fields) == {"target_utc_offset_max"}
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as caught:
        pod_create(tenant=tenant, actor=actor, data={
            "name": "X", "time": "19:00", "target_utc_offset_min": "east",
            "target_utc_offset_max": 2000})
    assert set(caught.value.fields) == {"target_utc_offset_min", "target_utc_offset_max"}
