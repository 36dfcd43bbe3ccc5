"""The pods rule fields on both back ends: pod membership, current streak, open
commitments."""

from __future__ import annotations

import pytest

from tend.community.models import PodMembership, PodsProfile
from tend.community.services.pods_core import pod_create, pod_join, pod_leave
from tend.people.tests.helpers_360 import make_contact, member_actor
from tend.rules import rule_clean
from tend.rules.tests.helpers import both

pytestmark = pytest.mark.django_db


def _one(field, operator, value=None):
    leaf = {"field": field, "operator": operator}
    if value is not None:
        leaf["value"] = value
    return {"combinator": "and", "rules": [leaf]}


def test_pod_streak_and_commitment_fields(scoped, tenant, owner):
    actor = member_actor(tenant, owner)
    a, b, c = (make_contact(scoped, first_name=n) for n in ("Ana", "Ben", "Cy"))
    pod = pod_create(tenant=scoped, actor=actor, data={"name": "P1", "time": "09:00"})
    other = pod_create(tenant=scoped, actor=actor, data={"name": "P2", "time": "09:00"})
    pod_join(tenant=scoped, actor=actor, pod=pod, contact=a)
    pod_join(tenant=scoped, actor=actor, pod=other, contact=b)
    pod_leave(tenant=scoped, actor=actor,
              membership=PodMembership.objects.get(contact=b))
    PodsProfile.objects.create(tenant=scoped, contact=a, current_streak=5, active_commitments=2)
    PodsProfile.objects.create(tenant=scoped, contact=b, current_streak=1)

    def names(rule):
        members = both(scoped, rule_clean(tenant=scoped, rule=rule))
        return sorted(p.first_name for p in (a, b, c) if p.pk in members)

    assert names(_one("pods.pod", "isNotEmpty")) == ["Ana"]
    assert names(_one("pods.pod", "isEmpty")) == ["Ben", "Cy"]
    assert names(_one("pods.pod", "hasAny", [str(pod.pk), str(other.pk)])) == ["Ana"]
    assert names(_one("pods.pod", "hasNone", [str(pod.pk)])) == ["Ben", "Cy"]
    assert names(_one("pods.currentStreak", "greaterThanOrEqual", 1)) == ["Ana", "Ben"]
    assert names(_one("pods.currentStreak", "equals", 0)) == ["Cy"]
    assert names(_one("pods.activeCommitments", "greaterThan", 0)) == ["Ana"]
