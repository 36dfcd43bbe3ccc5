"""Care services: the unit tree, memberships, mentor links and their last contact, lessons and
eligibility, practice history, the attention list with its reasons."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tend.community.models import (
    CareSummary,
    MentorLink,
    PracticeChange,
    Unit,
)
from tend.community.selectors.care_attention import attention_list, attention_reasons
from tend.community.selectors.care_units import unit_members
from tend.community.services.care_attention import attention_settings_update
from tend.community.services.care_courses import (
    course_create,
    lesson_add,
    lesson_eligibility,
    lesson_record,
)
from tend.community.services.care_mentors import (
    initiation_record,
    mentor_link_create,
    mentor_link_end,
    trait_grant,
)
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import (
    unit_create,
    unit_membership_add,
    unit_update,
)
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.people.models import IdentityAlias
from tend.people.services.interactions import interaction_log
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


def test_unit_tree_paths_and_move(scoped, actor):
    country = unit_create(tenant=scoped, actor=actor, name="Oman", kind="country")
    region = unit_create(tenant=scoped, actor=actor, name="Muscat", parent=country)
    city = unit_create(tenant=scoped, actor=actor, name="Seeb", parent=region)
    assert (city.path, city.depth) == (f"{country.pk.hex}/{region.pk.hex}/{city.pk.hex}/", 2)
    other = unit_create(tenant=scoped, actor=actor, name="UAE")
    unit_update(tenant=scoped, actor=actor, unit=region, parent=other, move=True)
    city.refresh_from_db()
    assert (city.path, city.depth) == (f"{other.pk.hex}/{region.pk.hex}/{city.pk.hex}/", 2)
    with pytest.raises(ValidationFailed) as err:
        unit_update(tenant=scoped, actor=actor, unit=other, parent=city, move=True)
    assert list(err.value.fields) == ["parent_id"]
    assert list(Unit.objects.filter(path__startswith=other.path).order_by("depth")
                .values_list("name", flat=True)) == ["UAE", "Muscat", "Seeb"]


def test_memberships_subtree_and_validation(scoped, actor):
    root = unit_create(tenant=scoped, actor=actor, name="Root")
    child = unit_create(tenant=scoped, actor=actor, name="Child", parent=root)
    ana, ben = make_contact(scoped, first_name="Ana"), make_contact(scoped, first_name="Ben")
    unit_membership_add(tenant=scoped, actor=actor, unit=root, contact=ana, role="LEADER")
    unit_membership_add(tenant=scoped, actor=actor, unit=child, contact=ben)
    assert [m.contact.first_name for m in unit_members(tenant=scoped, unit=root)] == ["Ana"]
    assert sorted(m.contact.first_name for m in unit_members(tenant=scoped, unit=root,
                                                              subtree=True)) == ["Ana", "Ben"]
    with pytest.raises(ValidationFailed) as err:
        unit_membership_add(tenant=scoped, actor=actor, unit=root, contact=ben, role="BOSS",
                            since=date(2024, 2, 1), until=date(2024, 1, 1))
    assert sorted(err.value.fields) == ["role", "until"]


def test_viewer_cannot_change_units(scoped, tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        unit_create(tenant=scoped, actor=member_actor(tenant, viewer), name="X")


def test_interaction_by_mentor_staff_moves_last_contact(scoped, actor, owner):
    mentor, mentee = make_contact(scoped, first_name="Mentor"), make_contact(scoped)
    IdentityAlias.objects.create(tenant=scoped, contact=mentor, type="AUTH_USER",
                                 value=str(owner.pk))
    started = timezone.now() - timedelta(days=50)
    link = mentor_link_create(tenant=scoped, actor=actor, mentor=mentor, mentee=mentee,
                              started_at=started)
    assert CareSummary.objects.get(contact=mentee).mentor_contact_at == started
    when = timezone.now() - timedelta(days=2)
    interaction_log(tenant=scoped, actor=actor, contact=mentee, channel="PHONE",
                    summary="Check-in", occurred_at=when)
    link.refresh_from_db()
    assert link.last_contact_at == when
    assert CareSummary.objects.get(contact=mentee).mentor_contact_at == when
    # An older interaction does not move it back.
    interaction_log(tenant=scoped, actor=actor, contact=mentee, channel="PHONE",
                    summary="Old", occurred_at=when - timedelta(days=5))
    link.refresh_from_db()
    assert link.last_contact_at == when
    mentor_link_end(tenant=scoped, actor=actor, link=link)
    assert CareSummary.objects.get(contact=mentee).mentor_contact_at is None
    with pytest.raises(ValidationFailed):
        mentor_link_create(tenant=scoped, actor=actor, mentor=mentee, mentee=mentee)


def test_interaction_by_someone_else_leaves_links_alone(scoped, actor):
    mentor, mentee = make_contact(scoped, first_name="Mentor"), make_contact(scoped)
    link = mentor_link_create(tenant=scoped, actor=actor, mentor=mentor, mentee=mentee)
    interaction_log(tenant=scoped, actor=actor, contact=mentee, channel="PHONE", summary="x")
    link.refresh_from_db()
    assert link.last_contact_at is None


def test_lessons_eligibility_and_summary(scoped, actor):
    course = course_create(tenant=scoped, actor=actor, title="Lessons", min_interval_days=14,
                           status="PUBLISHED")
    lessons = [lesson_add(tenant=scoped, actor=actor, course=course, title=f"Lesson {n}")
               for n in range(1, 4)]
    person = make_contact(scoped)
    assert [lesson.order for lesson in lessons] == [1, 2, 3]
    assert lesson_eligibility(tenant=scoped, contact=person, lesson=lessons[1]) == [
        "The previous lesson has not been received yet."]
    first = timezone.now() - timedelta(days=20)
    lesson_record(tenant=scoped, actor=actor, contact=person, lesson=lessons[0],
                  received_at=first)
    summary = CareSummary.objects.get(contact=person)
    assert (summary.lessons_received, summary.last_lesson_at, summary.next_lesson_at) == (
        1, first, first + timedelta(days=14))
    lesson_record(tenant=scoped, actor=actor, contact=person, lesson=lessons[1])
    with pytest.raises(ValidationFailed) as err:
        lesson_record(tenant=scoped, actor=actor, contact=person, lesson=lessons[2])
    assert err.value.fields == {"lesson_id": [
        "The minimum interval since the last lesson has not passed."]}
    with pytest.raises(ValidationFailed):
        lesson_record(tenant=scoped, actor=actor, contact=person, lesson=lessons[0],
                      check=False)


def test_practice_history_and_traits_and_initiations(scoped, actor):
    person = make_contact(scoped)
    practice_update(tenant=scoped, actor=actor, contact=person, regularity="IRREGULAR")
    practice_update(tenant=scoped, actor=actor, contact=person, regularity="DAILY",
                    notes="Better")
    assert list(PracticeChange.objects.filter(contact=person).order_by("recorded_at")
                .values_list("regularity", flat=True)) == ["IRREGULAR", "DAILY"]
    assert CareSummary.objects.get(contact=person).regularity == "DAILY"
    with pytest.raises(ValidationFailed) as err:
        practice_update(tenant=scoped, actor=actor, contact=person, regularity="HOURLY")
    assert list(err.value.fields) == ["regularity"]
    assert trait_grant(tenant=scoped, actor=actor, contact=person, trait=" Mentor ").trait == \
        "mentor"
    with pytest.raises(ValidationFailed):
        trait_grant(tenant=scoped, actor=actor, contact=person, trait="bad trait!")
    initiation = initiation_record(tenant=scoped, actor=actor, contact=person,
                                   kind="nama_mantra", date=date(2024, 3, 1))
    assert initiation.kind == "NAMA_MANTRA"
    with pytest.raises(ValidationFailed) as err:
        initiation_record(tenant=scoped, actor=actor, contact=person, kind="",
                          date=timezone.localdate() + timedelta(days=3))
    assert sorted(err.value.fields) == ["date", "kind"]


def test_attention_list_with_reasons_per_unit_and_mentor(scoped, actor):
    unit = unit_create(tenant=scoped, actor=actor, name="City")
    mentor = make_contact(scoped, first_name="Mentor")
    course = course_create(tenant=scoped, actor=actor, title="L", min_interval_days=30)
    one = lesson_add(tenant=scoped, actor=actor, course=course, title="1")
    lesson_add(tenant=scoped, actor=actor, course=course, title="2")
    ana, ben, cy, dee = (make_contact(scoped, first_name=n, last_name="", display_name=n)
                         for n in ("Ana", "Ben", "Cy", "Dee"))
    for person in (ana, ben, cy):
        unit_membership_add(tenant=scoped, actor=actor, unit=unit, contact=person)
    mentor_link_create(tenant=scoped, actor=actor, mentor=mentor, mentee=ana,
                       started_at=timezone.now() - timedelta(days=45))
    practice_update(tenant=scoped, actor=actor, contact=ana, regularity="NONE")
    practice_update(tenant=scoped, actor=actor, contact=ben, regularity="DAILY")
    lesson_record(tenant=scoped, actor=actor, contact=cy, lesson=one,
                  received_at=timezone.now() - timedelta(days=150))
    practice_update(tenant=scoped, actor=actor, contact=dee, regularity="IRREGULAR")

    listed = list(attention_list(tenant=scoped))
    assert [c.first_name for c in listed] == ["Ana", "Cy", "Dee"]
    rows = attention_reasons(tenant=scoped, contacts=listed)
    assert [row.clauses for row in rows] == [["contact", "practice"], ["lesson"], ["practice"]]
    assert rows[0].reasons == ["No mentor contact for more than 30 days",
                               "Practice is irregular or absent"]
    assert [c.first_name for c in attention_list(tenant=scoped, unit=unit)] == ["Ana", "Cy"]
    assert [c.first_name for c in attention_list(tenant=scoped, mentor=mentor)] == ["Ana"]

    attention_settings_update(tenant=scoped, actor=actor,
                              data={"days_since_contact": 60, "months_since_lesson": 6})
    rows = attention_reasons(tenant=scoped, contacts=list(attention_list(tenant=scoped)))
    assert [(row.contact.first_name, row.clauses) for row in rows] == [
        ("Ana", ["practice"]), ("Dee", ["practice"])]
    with pytest.raises(ValidationFailed) as err:
        attention_settings_update(tenant=scoped, actor=actor,
                                  data={"days_since_contact": 0, "colour": 1})
    assert sorted(err.value.fields) == ["colour", "days_since_contact"]


def test_mentor_link_is_not_duplicated(scoped, actor):
    mentor, mentee = make_contact(scoped, first_name="M"), make_contact(scoped)
    first = mentor_link_create(tenant=scoped, actor=actor, mentor=mentor, mentee=mentee)
    again = mentor_link_create(tenant=scoped, actor=actor, mentor=mentor, mentee=mentee)
    assert first.pk == again.pk
    assert MentorLink.objects.filter(mentee=mentee).count() == 1
