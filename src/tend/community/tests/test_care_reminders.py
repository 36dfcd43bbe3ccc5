"""Care reminders: PRACTICE_CHECKIN and LESSON_FOLLOWUP find the right people, the `mentor`
and `unit_secretary` resolvers pick the right staff, and each staff member's digest lists
their own people only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.community.models import PracticeStatus
from tend.community.services.care_courses import course_create, lesson_add, lesson_record
from tend.community.services.care_mentors import mentor_link_create
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.actors import Actor
from tend.core.models import Notification
from tend.marketing.models import Reminder, ReminderStatus
from tend.marketing.services import reminders as svc
from tend.people.models import IdentityAlias
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def staff(tenant, make_user, email, name):
    """A staff member (manager) whose own contact is `name`."""
    user = make_user(email)
    add_member(tenant, user, "manager")
    first, _space, last = name.partition(" ")
    contact = make_contact(tenant, first_name=first, last_name=last, display_name=name)
    IdentityAlias.objects.create(tenant=tenant, contact=contact, type="AUTH_USER",
                                 value=str(user.pk))
    return user, contact


@pytest.fixture
def world(scoped, owner, make_user):
    tenant = scoped
    actor = member_actor(tenant, owner)
    oman = unit_create(tenant=tenant, actor=actor, name="Oman")
    seeb = unit_create(tenant=tenant, actor=actor, name="Seeb", parent=oman)
    nizwa = unit_create(tenant=tenant, actor=actor, name="Nizwa", parent=oman)
    sec_user, sec = staff(tenant, make_user, "sec@example.com", "Sara Sec")
    leo_user, leo = staff(tenant, make_user, "leo@example.com", "Leo Lead")
    mentor_user, mentor = staff(tenant, make_user, "maya@example.com", "Maya Mentor")
    unit_membership_add(tenant=tenant, actor=actor, unit=seeb, contact=sec, role="SECRETARY")
    unit_membership_add(tenant=tenant, actor=actor, unit=oman, contact=leo, role="LEADER")
    people = {}
    for name, unit in (("Ana", seeb), ("Ben", nizwa), ("Cy", seeb), ("Dee", seeb),
                       ("Eve", nizwa)):
        people[name] = make_contact(tenant, first_name=name, last_name="", display_name=name)
        unit_membership_add(tenant=tenant, actor=actor, unit=unit, contact=people[name])
    mentor_link_create(tenant=tenant, actor=actor, mentor=mentor, mentee=people["Ana"])
    practice_update(tenant=tenant, actor=actor, contact=people["Ana"], regularity="NONE")
    practice_update(tenant=tenant, actor=actor, contact=people["Ben"], regularity="DAILY")
    PracticeStatus.objects.filter(contact=people["Ben"]).update(
        updated_at=timezone.now() - timedelta(days=40))
    for name in ("Cy", "Dee", "Eve"):
        practice_update(tenant=tenant, actor=actor, contact=people[name], regularity="WEEKLY")
    return {"actor": actor, "sec": sec_user, "leo": leo_user, "mentor": mentor_user,
            "people": people, "units": (oman, seeb, nizwa)}


def open_reminders(rule):
    return sorted((str(r.contact), r.recipient.email) for r in Reminder.objects.filter(
        rule=rule, status=ReminderStatus.OPEN).select_related("contact", "recipient"))


def test_practice_checkin_reaches_mentor_and_the_nearest_unit_officers(world):
    tenant = world["actor"].membership.tenant
    rule = svc.reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
        "name": "Practice", "type": "PRACTICE_CHECKIN", "params": {"days": 30},
        "recipients": ["mentor", "unit_secretary"]})
    created, _closed = svc.reminder_rule_run(tenant=tenant, rule=rule)
    # Ana (practice NONE): her mentor and Seeb's secretary. Ben (not updated for 40 days,
    # Nizwa has no officers): Oman's leader. Cy, Dee, Eve are up to date.
    assert open_reminders(rule) == [("Ana", "maya@example.com"), ("Ana", "sec@example.com"),
                                    ("Ben", "leo@example.com")]
    assert created == 3
    assert svc.reminder_rule_run(tenant=tenant, rule=rule) == (0, 0)
    # A new practice status for Ana is a new occurrence: her reminders close as done.
    practice_update(tenant=tenant, actor=world["actor"], contact=world["people"]["Ana"],
                    regularity="DAILY")
    assert svc.reminder_rule_run(tenant=tenant, rule=rule) == (0, 2)
    assert open_reminders(rule) == [("Ben", "leo@example.com")]


def test_practice_checkin_for_members_who_never_recorded_one(world):
    tenant = world["actor"].membership.tenant
    _oman, seeb, _nizwa = world["units"]
    fay = make_contact(tenant, first_name="Fay", last_name="", display_name="Fay")
    unit_membership_add(tenant=tenant, actor=world["actor"], unit=seeb, contact=fay,
                        since=timezone.localdate() - timedelta(days=45))
    rule = svc.reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
        "name": "Practice", "type": "PRACTICE_CHECKIN", "recipients": ["unit_secretary"]})
    svc.reminder_rule_run(tenant=tenant, rule=rule)
    assert ("Fay", "sec@example.com") in open_reminders(rule)
    reminder = Reminder.objects.get(rule=rule, contact=fay)
    assert reminder.reason.startswith("No practice recorded since joining")


def test_lesson_followup(world):
    tenant, actor, people = world["actor"].membership.tenant, world["actor"], world["people"]
    course = course_create(tenant=tenant, actor=actor, title="Lessons",
                           min_interval_days=30, status="PUBLISHED")
    first = lesson_add(tenant=tenant, actor=actor, course=course, title="One")
    lesson_add(tenant=tenant, actor=actor, course=course, title="Two")
    now = timezone.now()
    # Dee: allowed the next lesson 70 days ago. Eve: 10 days ago. Cy: finished nothing yet.
    lesson_record(tenant=tenant, actor=actor, contact=people["Dee"], lesson=first,
                  received_at=now - timedelta(days=100))
    lesson_record(tenant=tenant, actor=actor, contact=people["Eve"], lesson=first,
                  received_at=now - timedelta(days=40))
    rule = svc.reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
        "name": "Lessons", "type": "LESSON_FOLLOWUP", "params": {"days": 30},
        "recipients": ["unit_secretary"]})
    svc.reminder_rule_run(tenant=tenant, rule=rule)
    assert open_reminders(rule) == [("Dee", "sec@example.com")]
    reminder = Reminder.objects.get(rule=rule)
    assert reminder.reason.startswith("Next lesson allowed since")
    # With a 5-day threshold Eve is due too, and goes to Oman's leader (Nizwa has nobody).
    svc.reminder_rule_update(tenant=tenant, actor=SYSTEM, rule=rule, data={"params": {"days": 5}})
    svc.reminder_rule_run(tenant=tenant, rule=rule)
    assert open_reminders(rule) == [("Dee", "sec@example.com"), ("Eve", "leo@example.com")]


def test_each_staff_member_digest_lists_their_own_people(world):
    tenant = world["actor"].membership.tenant
    rule = svc.reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
        "name": "Practice", "type": "PRACTICE_CHECKIN", "recipients": ["mentor",
                                                                       "unit_secretary"]})
    svc.reminder_rule_run(tenant=tenant, rule=rule)
    for key in ("sec", "leo", "mentor"):
        assert svc.reminder_digest_send(tenant=tenant, user=world[key], force=True) is not None
    bodies = {n.user.email: n.body for n in Notification.objects.filter(
        kind="reminders.digest").select_related("user")}
    assert bodies["sec@example.com"].startswith("- Ana: Practice: No practice")
    assert "Ben" not in bodies["sec@example.com"]
    assert bodies["maya@example.com"].startswith("- Ana:")
    assert bodies["leo@example.com"].startswith("- Ben: Practice not updated for 40 days")
    assert "Ana" not in bodies["leo@example.com"]


def test_resolvers_skip_staff_no_longer_active(world):
    from tend.core.models import Membership

    tenant = world["actor"].membership.tenant
    Membership.objects.filter(user=world["mentor"]).update(is_active=False)
    rule = svc.reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
        "name": "Practice", "type": "PRACTICE_CHECKIN", "recipients": ["mentor"]})
    svc.reminder_rule_run(tenant=tenant, rule=rule)
    assert open_reminders(rule) == []


def test_types_and_recipients_are_offered():
    assert {"PRACTICE_CHECKIN", "LESSON_FOLLOWUP"} <= {t.key for t in svc.reminder_types()}
    assert {"mentor", "unit_secretary"} <= {r.key for r in svc.recipient_resolvers()}
