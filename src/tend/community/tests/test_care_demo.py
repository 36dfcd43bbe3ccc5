import random

import pytest

from tend.community.demo_care import load_care_demo
from tend.community.models import CourseLesson, MentorLink, Unit
from tend.community.selectors.care_attention import attention_list, attention_reasons
from tend.core.demo import DemoContext, demo_loaders
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db


def test_loader_builds_a_community_with_people_needing_attention(scoped, owner):
    assert load_care_demo in demo_loaders()
    for i in range(25):
        make_contact(scoped, first_name=f"P{i}", display_name=f"P{i:02d}")
    ctx = DemoContext(tenant=scoped, owner=owner, actor=member_actor(scoped, owner),
                      password=None, rng=random.Random(3))
    load_care_demo(ctx)
    assert Unit.objects.count() == 6
    assert CourseLesson.objects.count() == 6
    assert MentorLink.objects.filter(active=True).count() == 18
    rows = attention_reasons(tenant=scoped, contacts=list(attention_list(tenant=scoped)))
    fired = {clause for row in rows for clause in row.clauses}
    assert {"practice", "contact"} <= fired
    # The care reminder rules reach the owner (the mentor, and Muscat's leader).
    from tend.marketing.models import Reminder, ReminderRule

    assert set(ReminderRule.objects.values_list("type", flat=True)) == {
        "PRACTICE_CHECKIN", "LESSON_FOLLOWUP"}
    assert Reminder.objects.filter(recipient=owner, rule__type="PRACTICE_CHECKIN").exists()
