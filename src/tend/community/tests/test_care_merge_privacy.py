"""Care rows follow people through merges (no duplicate-key crash, nothing left behind on the
merged-away contact) and privacy requests (export and erase)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta

import pytest
from django.utils import timezone

from tend.community.models import (
    CareSummary,
    Initiation,
    LessonProgress,
    MentorLink,
    PracticeChange,
    PracticeStatus,
    UnitMembership,
    UserTrait,
)
from tend.community.services.care_courses import course_create, lesson_add, lesson_record
from tend.community.services.care_mentors import (
    initiation_record,
    mentor_link_create,
    trait_grant,
)
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.actors import Actor
from tend.people.services.merge import contact_merge
from tend.people.services.privacy import contact_erase, privacy_export_build
from tend.people.tests.helpers_360 import make_contact

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
CARE = (UnitMembership, UserTrait, Initiation, LessonProgress, PracticeChange, PracticeStatus,
        CareSummary)


@pytest.fixture
def twins(scoped):
    """Two records of the same person, each with care rows, several of which collide."""
    tenant = scoped
    seeb = unit_create(tenant=tenant, actor=SYSTEM, name="Seeb")
    nizwa = unit_create(tenant=tenant, actor=SYSTEM, name="Nizwa")
    winner = make_contact(tenant, first_name="Ana", last_name="One")
    loser = make_contact(tenant, first_name="Ana", last_name="Two")
    mentor = make_contact(tenant, first_name="Maya", last_name="Mentor")
    mentee = make_contact(tenant, first_name="Ben", last_name="Mentee")
    acarya = make_contact(tenant, first_name="Dada", last_name="")
    old = timezone.now() - timedelta(days=200)
    for person, since in ((winner, date(2024, 5, 1)), (loser, date(2023, 1, 1))):
        unit_membership_add(tenant=tenant, actor=SYSTEM, unit=seeb, contact=person, since=since)
    unit_membership_add(tenant=tenant, actor=SYSTEM, unit=nizwa, contact=loser,
                        role="SECRETARY", scope_staff=True)
    trait_grant(tenant=tenant, actor=SYSTEM, contact=winner, trait="mentor",
                expires_at=timezone.now() + timedelta(days=10))
    trait_grant(tenant=tenant, actor=SYSTEM, contact=loser, trait="mentor")
    trait_grant(tenant=tenant, actor=SYSTEM, contact=loser, trait="facilitator")
    # Both records have the same mentor (two active links); the loser mentors Ben and the
    # winner (a link that would join the survivor to themselves).
    mentor_link_create(tenant=tenant, actor=SYSTEM, mentor=mentor, mentee=winner)
    mentor_link_create(tenant=tenant, actor=SYSTEM, mentor=mentor, mentee=loser, started_at=old)
    mentor_link_create(tenant=tenant, actor=SYSTEM, mentor=loser, mentee=mentee)
    mentor_link_create(tenant=tenant, actor=SYSTEM, mentor=loser, mentee=winner)
    for person in (winner, loser):
        initiation_record(tenant=tenant, actor=SYSTEM, contact=person, kind="INITIATION",
                          date=date(2020, 3, 1), acarya=acarya, place="Muscat")
    initiation_record(tenant=tenant, actor=SYSTEM, contact=loser, kind="NAMA_MANTRA",
                      date=date(2021, 6, 1), place="Seeb", notes="private words")
    course = course_create(tenant=tenant, actor=SYSTEM, title="Lessons", status="PUBLISHED")
    first = lesson_add(tenant=tenant, actor=SYSTEM, course=course, title="One")
    second = lesson_add(tenant=tenant, actor=SYSTEM, course=course, title="Two")
    lesson_add(tenant=tenant, actor=SYSTEM, course=course, title="Three")
    lesson_record(tenant=tenant, actor=SYSTEM, contact=winner, lesson=first)
    lesson_record(tenant=tenant, actor=SYSTEM, contact=loser, lesson=first, received_at=old,
                  taught_by=acarya)
    lesson_record(tenant=tenant, actor=SYSTEM, contact=loser, lesson=second, check=False)
    lesson_record(tenant=tenant, actor=SYSTEM, contact=mentee, lesson=first, taught_by=loser)
    practice_update(tenant=tenant, actor=SYSTEM, contact=winner, regularity="WEEKLY")
    PracticeStatus.objects.filter(contact=winner).update(updated_at=old)
    practice_update(tenant=tenant, actor=SYSTEM, contact=loser, regularity="DAILY",
                    notes="morning and evening")
    return {"tenant": tenant, "winner": winner, "loser": loser, "mentor": mentor,
            "mentee": mentee, "seeb": seeb, "nizwa": nizwa, "first": first, "old": old,
            "acarya": acarya}


def test_merge_moves_every_care_row_without_duplicates(twins):
    tenant, winner, loser = twins["tenant"], twins["winner"], twins["loser"]
    contact_merge(tenant=tenant, actor=SYSTEM, winner=winner, loser=loser)
    for model in CARE:
        assert not model.objects.filter(contact=loser).exists(), model.__name__
    assert not MentorLink.objects.filter(mentor=loser).exists()
    assert not MentorLink.objects.filter(mentee=loser).exists()
    # Seeb once (the earlier date), Nizwa's secretary role with its staff scope moved.
    units = sorted((m.unit.name, m.role, m.since, m.scope_staff)
                   for m in UnitMembership.objects.filter(contact=winner).select_related("unit"))
    assert units == [("Nizwa", "SECRETARY", timezone.localdate(), True),
                     ("Seeb", "MEMBER", date(2023, 1, 1), False)]
    traits = {t.trait: t.expires_at for t in UserTrait.objects.filter(contact=winner)}
    assert traits == {"facilitator": None, "mentor": None}
    # One active link from Maya (the earlier start), Ben now mentored by the survivor, and
    # the survivor no longer mentoring themselves.
    active = MentorLink.objects.filter(active=True)
    assert sorted((str(x.mentor), str(x.mentee)) for x in active) == [
        ("Ana One", "Ben Mentee"), ("Maya Mentor", "Ana One")]
    assert active.get(mentee=winner).started_at == twins["old"]
    assert MentorLink.objects.filter(mentor=winner, mentee=winner, active=False).count() == 1
    assert sorted(Initiation.objects.filter(contact=winner).values_list("kind", flat=True)) == [
        "INITIATION", "NAMA_MANTRA"]
    received = {p.lesson.order: p for p in LessonProgress.objects.filter(contact=winner)
                .select_related("lesson")}
    assert sorted(received) == [1, 2]
    assert received[1].received_at == twins["old"]
    assert received[1].taught_by_id == twins["acarya"].pk
    assert LessonProgress.objects.get(contact=twins["mentee"]).taught_by_id == winner.pk
    assert PracticeStatus.objects.get(contact=winner).regularity == "DAILY"
    assert PracticeChange.objects.filter(contact=winner).count() == 2
    summary = CareSummary.objects.get(contact=winner)
    assert (summary.regularity, summary.lessons_received) == ("DAILY", 2)


def test_merge_the_other_way_keeps_the_newer_practice(twins):
    tenant, winner, loser = twins["tenant"], twins["loser"], twins["winner"]
    contact_merge(tenant=tenant, actor=SYSTEM, winner=winner, loser=loser)
    assert PracticeStatus.objects.get(contact=winner).regularity == "DAILY"
    assert PracticeStatus.objects.count() == 1
    for model in CARE:
        assert not model.objects.filter(contact=loser).exists(), model.__name__


def test_export_holds_the_care_records(twins):
    tenant, loser = twins["tenant"], twins["loser"]
    content = privacy_export_build(tenant=tenant, actor=SYSTEM, contact=loser)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        care = json.loads(archive.read("care.json"))
    assert sorted(u["unit"] for u in care["units"]) == ["Nizwa", "Seeb"]
    assert sorted(t["trait"] for t in care["traits"]) == ["facilitator", "mentor"]
    assert [m["mentor"] for m in care["mentors"]] == ["Maya Mentor"]
    assert len(care["mentees"]) == 2
    assert {i["notes"] for i in care["initiations"]} == {"", "private words"}
    assert [p["lesson"] for p in care["lessons"]] == ["One", "Two"]
    assert care["practice"]["notes"] == "morning and evening"
    assert [c["regularity"] for c in care["practice_history"]] == ["DAILY"]
    assert care["summary"]["lessons_received"] == 2


def test_erase_scrubs_texts_and_ends_relations_but_keeps_counts(twins):
    tenant, loser = twins["tenant"], twins["loser"]
    contact_erase(tenant=tenant, actor=SYSTEM, contact=loser, confirmation="ERASE")
    assert set(Initiation.objects.filter(contact=loser).values_list("place", "notes")) == {
        ("", "")}
    assert PracticeStatus.objects.get(contact=loser).notes == ""
    assert list(PracticeChange.objects.filter(contact=loser).values_list("notes", flat=True)) \
        == [""]
    assert not UserTrait.objects.filter(contact=loser).exists()
    assert not MentorLink.objects.filter(mentee=loser, active=True).exists()
    assert not MentorLink.objects.filter(mentor=loser, active=True).exists()
    today = timezone.localdate()
    assert all(m.until == today and not m.scope_staff
               for m in UnitMembership.objects.filter(contact=loser))
    assert LessonProgress.objects.filter(contact=loser).count() == 2
    # Ben lost his mentor: his summary no longer counts a mentor contact.
    assert CareSummary.objects.get(contact=twins["mentee"]).mentor_contact_at is None
