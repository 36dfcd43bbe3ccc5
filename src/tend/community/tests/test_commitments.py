"""Commitments: SMART analysis, check-ins and streaks, totals on the profile, decay, goals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tend.community.models import PodsProfile
from tend.community.services import smart
from tend.community.services.commitments import (
    commitment_check_in,
    commitment_create,
    commitment_set_status,
    goal_create,
    goal_update,
    streaks_decay,
)
from tend.core.errors import ValidationFailed
from tend.people.tests.helpers_360 import make_contact, member_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


def test_smart_checks_explain_what_is_missing():
    strong = smart.analyze("write 500 words before 9am today")
    assert strong.score == 10 and strong.suggestion == ""
    vague = smart.analyze("get fit")
    assert vague.score == 2
    assert {k for k, v in vague.checks.items() if not v["ok"]} == {
        "specific", "measurable", "relevant", "time_bound"}
    assert "Add when" in vague.suggestion
    huge = smart.analyze("read 500 pages every single day")
    assert huge.checks["achievable"]["ok"] is False
    arabic = smart.analyze("أقرأ 10 صفحات اليوم")
    assert arabic.checks["measurable"]["ok"] and arabic.checks["time_bound"]["ok"]
    relevant = smart.analyze("run 5 km every morning", goal="Run a marathon")
    unrelated = smart.analyze("write 3 emails today", goal="Run a marathon")
    assert relevant.checks["relevant"]["ok"] and not unrelated.checks["relevant"]["ok"]


def test_another_analyzer_can_replace_the_rules():
    class Fixed:
        def analyze(self, text, *, goal=""):
            return smart.SmartResult(checks={}, score=7, suggestion="llm says hi")

    smart.set_analyzer(Fixed())
    try:
        assert smart.analyze("anything").score == 7
    finally:
        smart.set_analyzer(smart.RuleAnalyzer())


def test_streaks_totals_and_decay(scoped, actor):
    person = make_contact(scoped)
    first = commitment_create(tenant=scoped, actor=actor, contact=person,
                              text="  run 5 km   every morning ")
    assert (first.text, first.original_text, first.smart_score) == (
        "run 5 km every morning", "  run 5 km   every morning ", 10)
    second = commitment_create(tenant=scoped, actor=actor, contact=person, text="get fit")
    for day in (date(2026, 5, 1), date(2026, 5, 2), date(2026, 5, 2), date(2026, 5, 3)):
        commitment_check_in(tenant=scoped, actor=actor, commitment=first, done=True, day=day)
    profile = PodsProfile.objects.get(contact=person)
    assert (profile.current_streak, profile.longest_streak) == (3, 3)
    commitment_check_in(tenant=scoped, actor=actor, commitment=first, done=True,
                        day=date(2026, 5, 6), complete=True)
    commitment_set_status(tenant=scoped, actor=actor, commitment=second, status="FAILED")
    profile.refresh_from_db()
    assert (profile.current_streak, profile.longest_streak) == (1, 3)
    assert (profile.total_commitments, profile.completed_commitments,
            profile.active_commitments) == (2, 1, 0)
    # The day after tomorrow with nothing done: the streak lapses.
    assert streaks_decay(tenant=scoped, now=datetime(2026, 5, 7, 12, tzinfo=UTC)) == 0
    assert streaks_decay(tenant=scoped, now=datetime(2026, 5, 8, 12, tzinfo=UTC)) == 1
    profile.refresh_from_db()
    assert (profile.current_streak, profile.longest_streak) == (0, 3)


def test_bad_input_is_a_field_error(scoped, actor):
    person, other = make_contact(scoped), make_contact(scoped, first_name="Other")
    goal = goal_create(tenant=scoped, actor=actor, contact=other, data={"title": "Ship"})
    with pytest.raises(ValidationFailed) as err:
        commitment_create(tenant=scoped, actor=actor, contact=person, text=" ", difficulty=9,
                          goal=goal)
    assert set(err.value.fields) == {"text", "difficulty", "goal_id"}


def test_goals_progress_and_summaries(scoped, actor):
    person = make_contact(scoped)
    goal = goal_create(tenant=scoped, actor=actor, contact=person,
                       data={"title": "Run a marathon", "category": "health"})
    goal_update(tenant=scoped, actor=actor, goal=goal,
                data={"progress": 40, "summary": "Two long runs this week"})
    goal.refresh_from_db()
    assert (goal.progress, [s["text"] for s in goal.summaries]) == (
        40, ["Two long runs this week"])
    with pytest.raises(ValidationFailed):
        goal_update(tenant=scoped, actor=actor, goal=goal, data={"progress": 140})
    linked = commitment_create(tenant=scoped, actor=actor, contact=person,
                               text="run 10 km on Sunday", goal=goal)
    assert linked.smart_checks["checks"]["relevant"]["ok"] is True
