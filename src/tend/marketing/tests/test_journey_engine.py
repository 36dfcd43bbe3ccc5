"""The journey engine: steps run in order, waits wait, conditions and splits branch, each
step's effect happens once, and editing a running journey makes a new version."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.tenancy import tenant_scope
from tend.marketing.models_journeys import (
    EnrollmentStatus,
    JourneyEnrollment,
    JourneyEnrollmentStep,
)
from tend.marketing.services.journeys import (
    journey_enroll,
    journey_enroll_many,
    journey_set_steps,
    journey_steps,
    step_dicts,
)
from tend.marketing.services.journeys_engine import run_due, split_variant
from tend.marketing.tests.journey_helpers import (
    SYSTEM,
    linear_steps,
    make_journey,
    publish_template,
    step,
)
from tend.messaging.models import Message
from tend.people.tests.helpers_360 import make_contact

pytestmark = pytest.mark.django_db


def _history(tenant, enrollment):
    with tenant_scope(tenant):
        return list(JourneyEnrollmentStep.objects.filter(enrollment=enrollment)
                    .order_by("seq").values_list("step_key", "status"))


def _reload(tenant, enrollment):
    with tenant_scope(tenant):
        return JourneyEnrollment.objects.select_related("current_step").get(pk=enrollment.pk)


def test_linear_journey_sends_waits_and_completes(tenant, django_capture_on_commit_callbacks):
    publish_template(tenant)
    journey = make_journey(tenant, linear_steps())
    contact = make_contact(tenant, first_name="Ada")
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        enrollment = journey_enroll(tenant=tenant, actor=SYSTEM, journey=journey,
                                    contact=contact)
    # Enrolling advanced it at once (a task after commit) to the wait.
    enrollment = _reload(tenant, enrollment)
    assert enrollment.status == EnrollmentStatus.ACTIVE
    assert enrollment.current_step.key == "wait"
    # A wait's history row is written when it ends; until then the enrollment says where.
    assert _history(tenant, enrollment) == [("trigger", "COMPLETED"), ("first", "COMPLETED")]
    assert enrollment.waiting_until > timezone.now() + timedelta(hours=23)
    with tenant_scope(tenant):
        first = Message.objects.get(tenant=tenant, contact=contact)
    assert first.body == "Hello Ada"
    with tenant_scope(tenant):
        first_step = journey_steps(tenant=tenant, journey=journey)[1]
    assert first.dedupe_key == f"journey:{enrollment.pk}:{first_step.pk}"
    assert first.purpose == "MARKETING" and first.metadata["step"] == "first"

    # Not yet due: nothing moves.
    assert run_due(now=timezone.now() + timedelta(hours=23)).steps == 0
    stats = run_due(now=timezone.now() + timedelta(days=1, minutes=1))
    assert (stats.claimed, stats.steps, stats.completed) == (1, 3, 1)
    enrollment = _reload(tenant, enrollment)
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert _history(tenant, enrollment) == [
        ("trigger", "COMPLETED"), ("first", "COMPLETED"), ("wait", "COMPLETED"),
        ("second", "COMPLETED"), ("end", "COMPLETED")]
    with tenant_scope(tenant):
        assert Message.objects.filter(tenant=tenant, contact=contact).count() == 2
        journey.refresh_from_db()
    assert (journey.total_enrolled, journey.total_completed) == (1, 1)


def test_a_replayed_send_reuses_its_message(tenant):
    """The SEND's dedupe key: running the same step of the same enrollment again (as after a
    worker died between the message and its commit elsewhere) finds the first message."""
    publish_template(tenant)
    journey = make_journey(tenant, linear_steps())
    contact = make_contact(tenant)
    with tenant_scope(tenant):
        enrollment = journey_enroll(tenant=tenant, actor=SYSTEM, journey=journey,
                                    contact=contact)
    run_due()
    with tenant_scope(tenant):
        # Put it back on the first SEND as if its history never committed.
        first = journey_steps(tenant=tenant, journey=journey)[1]
        JourneyEnrollmentStep.objects.filter(enrollment=enrollment).delete()
        JourneyEnrollment.objects.filter(pk=enrollment.pk).update(
            current_step=first, waiting_until=timezone.now(), wait_started_at=None,
            steps_taken=1)
    run_due()
    with tenant_scope(tenant):
        messages = list(Message.objects.filter(tenant=tenant, contact=contact))
    assert len(messages) == 1
    assert _history(tenant, enrollment)[0] == ("first", "COMPLETED")


def test_condition_and_split_branch_and_update_tags(tenant):
    from tend.core.models import Tag

    with tenant_scope(tenant):
        Tag.objects.create(tenant=tenant, name="Warm", slug="warm")
    steps = [
        step("trigger", "TRIGGER", "city"),
        step("city", "CONDITION", rules=[{"field": "city", "operator": "equals",
                                          "value": "Dubai"}], combinator="AND",
             yes="split", no="end"),
        step("split", "SPLIT", variants=[{"name": "A", "weight": 1, "next": "tag"},
                                          {"name": "B", "weight": 1, "next": "lead"}]),
        step("tag", "UPDATE", "end", action="add_tag", value="warm"),
        step("lead", "UPDATE", "end", action="set_lifecycle", value="LEAD"),
        step("end", "END"),
    ]
    journey = make_journey(tenant, steps)
    people = [make_contact(tenant, first_name=f"P{i}", city="Dubai" if i < 20 else "Doha")
              for i in range(24)]
    with tenant_scope(tenant):
        rows = journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                                   contact_ids=[p.pk for p in people])
    assert len(rows) == 24
    run_due()
    with tenant_scope(tenant):
        history = {(h.enrollment.contact_id, h.step_key): h.result for h in
                   JourneyEnrollmentStep.objects.select_related("enrollment")}
        statuses = set(JourneyEnrollment.objects.values_list("status", flat=True))
        from tend.people.models import Contact, ContactTag

        tagged = set(ContactTag.objects.values_list("contact_id", flat=True))
        leads = set(Contact.objects.filter(lifecycle_stage="LEAD").values_list("pk", flat=True))
    assert statuses == {EnrollmentStatus.COMPLETED}
    for person in people:
        in_dubai = person.city == "Dubai"
        assert history[(person.pk, "city")] == {"matched": in_dubai}
        if not in_dubai:
            assert (person.pk, "split") not in history
            continue
        variant = split_variant(person.pk, "split", [{"name": "A", "weight": 1},
                                                      {"name": "B", "weight": 1}])["name"]
        assert history[(person.pk, "split")] == {"variant": variant}
        assert (person.pk in tagged) == (variant == "A")
        assert (person.pk in leads) == (variant == "B")
    # Deterministic and roughly even.
    assert 4 <= len(tagged) <= 16


def test_wait_until_a_rule_goes_on_when_it_matches_or_times_out(tenant):
    steps = [step("trigger", "TRIGGER", "wait"),
             step("wait", "WAIT", "end", untilRule={"combinator": "and", "rules": [
                 {"field": "city", "operator": "equals", "value": "Paris"}]},
                  timeout="2 days", checkEvery="1 hour"),
             step("end", "END")]
    journey = make_journey(tenant, steps)
    a = make_contact(tenant, first_name="A")
    b = make_contact(tenant, first_name="B")
    with tenant_scope(tenant):
        ea, eb = journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                                     contact_ids=[a.pk, b.pk])
    run_due()
    now = timezone.now()
    assert _reload(tenant, ea).waiting_until <= now + timedelta(hours=1, seconds=5)
    with tenant_scope(tenant):
        type(a).objects.filter(pk=a.pk).update(city="Paris")
    run_due(now=now + timedelta(hours=2))
    assert _reload(tenant, ea).status == EnrollmentStatus.COMPLETED
    assert _reload(tenant, eb).status == EnrollmentStatus.ACTIVE
    run_due(now=now + timedelta(days=2, hours=1))
    b_done = _reload(tenant, eb)
    assert b_done.status == EnrollmentStatus.COMPLETED
    with tenant_scope(tenant):
        wait_row = JourneyEnrollmentStep.objects.get(enrollment=eb, step_key="wait")
    assert wait_row.result == {"matched": False, "timed_out": True}


def test_editing_a_running_journey_makes_a_new_version(tenant):
    publish_template(tenant)
    journey = make_journey(tenant, linear_steps())
    first = make_contact(tenant, first_name="Old")
    with tenant_scope(tenant):
        old = journey_enroll(tenant=tenant, actor=SYSTEM, journey=journey, contact=first)
    run_due()
    with tenant_scope(tenant):
        steps = step_dicts(journey_steps(tenant=tenant, journey=journey))
        steps[2]["config"] = {"duration": "2 days"}
        journey = journey_set_steps(tenant=tenant, actor=SYSTEM, journey=journey, steps=steps)
        assert journey.version == 2
        new = journey_enroll(tenant=tenant, actor=SYSTEM, journey=journey,
                             contact=make_contact(tenant, first_name="New"))
    run_due()
    old, new = _reload(tenant, old), _reload(tenant, new)
    assert (old.version, new.version) == (1, 2)
    assert old.current_step.config == {"duration": "1 day"}
    assert new.current_step.config == {"duration": "2 days"}
    run_due(now=timezone.now() + timedelta(days=1, minutes=1))
    assert _reload(tenant, old).status == EnrollmentStatus.COMPLETED
    assert _reload(tenant, new).status == EnrollmentStatus.ACTIVE


def test_a_missing_template_fails_the_enrollment_with_a_reason(tenant):
    publish_template(tenant)
    journey = make_journey(tenant, linear_steps())
    with tenant_scope(tenant):
        from tend.messaging.models import Template

        Template.objects.filter(tenant=tenant).update(status="ARCHIVED")
        enrollment = journey_enroll(tenant=tenant, actor=SYSTEM, journey=journey,
                                    contact=make_contact(tenant))
    run_due()
    enrollment = _reload(tenant, enrollment)
    assert enrollment.status == EnrollmentStatus.FAILED
    assert enrollment.exit_reason == "No template hello for EMAIL"
    assert _history(tenant, enrollment)[-1] == ("first", "FAILED")


def test_reentry_and_limits(tenant):
    journey = make_journey(tenant, [step("t", "TRIGGER", "w"), step("w", "WAIT", "e",
                                                                     duration="1 day"),
                                    step("e", "END")], max_enrollments=2)
    people = [make_contact(tenant, first_name=f"R{i}") for i in range(3)]
    with tenant_scope(tenant):
        rows = journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                                   contact_ids=[p.pk for p in people])
        assert len(rows) == 2
        again = journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                                    contact_ids=[people[0].pk])
        assert again == []


def test_list_membership_moves_the_whole_group_once(tenant, django_assert_max_num_queries):
    """UPDATE add_to_segment / remove_from_segment: one segment service call for all the
    enrollments standing on the step; the history says so for each, and a deleted list is
    skipped."""
    from tend.marketing.models import SegmentMembership
    from tend.marketing.tests.campaign_helpers import segment_of

    people = [make_contact(tenant, first_name=f"L{i}") for i in range(30)]
    vip = segment_of(tenant, "VIP", [])
    old = segment_of(tenant, "Old", people[:10])
    gone = segment_of(tenant, "Gone", [])
    steps = [step("t", "TRIGGER", "add"),
             step("add", "UPDATE", "drop", action="add_to_segment", value=str(vip.pk)),
             step("drop", "UPDATE", "gone", action="remove_from_segment", value=str(old.pk)),
             step("gone", "UPDATE", "e", action="add_to_segment", value=str(gone.pk)),
             step("e", "END")]
    journey = make_journey(tenant, steps, name="Lists")
    with tenant_scope(tenant):
        gone.delete()
        journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                            contact_ids=[p.pk for p in people])
    # Per contact this would be hundreds of queries.
    with django_assert_max_num_queries(80):
        stats = run_due()
    assert (stats.claimed, stats.completed) == (30, 30)
    with tenant_scope(tenant):
        assert set(SegmentMembership.objects.filter(segment=vip).values_list(
            "contact_id", flat=True)) == {p.pk for p in people}
        assert not SegmentMembership.objects.filter(segment=old).exists()
        rows = JourneyEnrollmentStep.objects.filter(enrollment__journey=journey)
        assert rows.filter(step_key="add", status="COMPLETED").count() == 30
        assert rows.filter(step_key="drop", status="COMPLETED").count() == 30
        assert rows.filter(step_key="gone", status="SKIPPED").count() == 30


def test_a_failing_step_fails_its_enrollment_and_keeps_what_went_before(tenant):
    """An UPDATE that raises (its tag was deleted after the start) takes back only its own
    effect: the enrollment fails at that step with the error, the message its SEND queued
    before stays (recorded in the history), and the other enrollments of the batch go on."""
    from tend.core.models import Tag

    publish_template(tenant)
    with tenant_scope(tenant):
        Tag.objects.create(tenant=tenant, name="Gone", slug="gone")
    steps = [step("trigger", "TRIGGER", "city"),
             step("city", "CONDITION", rules=[{"field": "city", "operator": "equals",
                                               "value": "Dubai"}], combinator="AND",
                  yes="hello", no="end"),
             step("hello", "SEND", "tag", channel="EMAIL", templateId="hello"),
             step("tag", "UPDATE", "end", action="add_tag", value="gone"),
             step("end", "END")]
    journey = make_journey(tenant, steps, name="Tags")
    people = [make_contact(tenant, first_name=f"F{i}", city="Dubai" if i < 3 else "Doha")
              for i in range(5)]
    with tenant_scope(tenant):
        Tag.objects.filter(tenant=tenant, slug="gone").delete()
        journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                            contact_ids=[p.pk for p in people])
    stats = run_due()
    assert (stats.claimed, stats.completed, stats.failed) == (5, 2, 3)
    with tenant_scope(tenant):
        failed = list(JourneyEnrollment.objects.filter(status=EnrollmentStatus.FAILED))
        assert {e.contact_id for e in failed} == {p.pk for p in people[:3]}
        assert all(e.current_step.key == "tag" and e.exit_reason for e in failed)
        assert Message.objects.filter(tenant=tenant).count() == 3
        for e in failed:
            assert _history(tenant, e) == [("trigger", "COMPLETED"), ("city", "COMPLETED"),
                                           ("hello", "COMPLETED"), ("tag", "FAILED")]
        journey.refresh_from_db()
    assert (journey.total_completed, journey.total_failed) == (2, 3)


def test_batch_writes_keep_quotes_backslashes_braces_and_the_word_null(tenant):
    """The batch's rows travel to PostgreSQL as array literals: text with the characters
    such a literal quotes, and a value that is the word NULL, arrive as they were."""
    publish_template(tenant, key="echo", body="{{ contact.first_name }}",
                     subject='Re: "{{ contact.first_name }}"')
    names = ["NULL", 'Ro"sa \\ {x}, y', "  spaced  ", "زهرة"]
    people = [make_contact(tenant, first_name=name) for name in names]
    journey = make_journey(tenant, [
        step("trigger", "TRIGGER", "send"),
        step("send", "SEND", "end", channel="EMAIL", templateId="echo"),
        step("end", "END")], name='Quote "this" \\ {now}')
    with tenant_scope(tenant):
        journey_enroll_many(tenant=tenant, actor=SYSTEM, journey=journey,
                            contact_ids=[p.pk for p in people])
    run_due()
    with tenant_scope(tenant):
        messages = {m.contact_id: m for m in Message.objects.filter(tenant=tenant)}
        for person, name in zip(people, names, strict=True):
            message = messages[person.pk]
            assert message.body == name
            assert message.subject == f'Re: "{name}"'
            assert message.template_variables == {"contact.first_name": name}
            assert message.metadata["step"] == "send"
        history = JourneyEnrollmentStep.objects.filter(enrollment__journey=journey,
                                                       step_key="send")
        assert {str(r["message_id"]) for r in history.values_list("result", flat=True)} == {
            str(m.pk) for m in messages.values()}
