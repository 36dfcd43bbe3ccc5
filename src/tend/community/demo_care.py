"""Demo data of the care part: a unit tree (Oman → Muscat → Seeb and Muttrah; UAE → Dubai),
members with a secretary and a leader, the demo owner's own contact as a mentor with mentees,
traits, initiations, the am-crm "lessons 1..6" course with progress, and practice statuses
whose mix puts some people on the attention list for each reason.

Runs after the people loaders (order 600) and uses their live contacts; with fewer than ten
it adds nothing."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from tend.community.services.care_courses import course_create, lesson_add, lesson_record
from tend.community.services.care_mentors import (
    initiation_record,
    mentor_contact_record,
    mentor_link_create,
    trait_grant,
)
from tend.community.services.care_practice import practice_update
from tend.community.services.care_units import unit_create, unit_membership_add
from tend.core.demo import DemoContext
from tend.people.choices import ContactStatus
from tend.people.models import Contact, IdentityAlias

LESSONS = [
    ("Lesson 1: Foundations", "The first lesson: sitting, breathing, the daily rhythm.", 45),
    ("Lesson 2: Deepening", "Working with attention; the second practice.", 45),
    ("Lesson 3: Discipline", "Regularity and the community's support.", 40),
    ("Lesson 4: Service", "Practice in action: service and study.", 40),
    ("Lesson 5: Inner work", "The fifth practice and its conditions.", 50),
    ("Lesson 6: Integration", "Bringing the six lessons together.", 50),
]
REGULARITIES = ["TWICE_DAILY", "DAILY", "DAILY", "WEEKLY", "IRREGULAR", "NONE", ""]


def load_care_demo(ctx: DemoContext) -> None:
    tenant, actor, rng = ctx.tenant, ctx.actor, ctx.rng
    people = list(Contact.objects.filter(tenant=tenant, status=ContactStatus.ACTIVE,
                                         deleted_at__isnull=True).order_by("created_at")[:60])
    if len(people) < 10:
        ctx.notes.append("Care demo: too few contacts.")
        return
    now = timezone.now()
    oman = unit_create(tenant=tenant, actor=actor, name="Oman", kind="country")
    muscat = unit_create(tenant=tenant, actor=actor, name="Muscat", kind="region", parent=oman)
    seeb = unit_create(tenant=tenant, actor=actor, name="Seeb", kind="city", parent=muscat)
    muttrah = unit_create(tenant=tenant, actor=actor, name="Muttrah", kind="city",
                          parent=muscat)
    uae = unit_create(tenant=tenant, actor=actor, name="UAE", kind="country")
    dubai = unit_create(tenant=tenant, actor=actor, name="Dubai", kind="city", parent=uae)
    cities = [seeb, muttrah, dubai]

    mentor, acarya = people[0], people[1]
    if not IdentityAlias.objects.filter(tenant=tenant, type="AUTH_USER",
                                        value=str(ctx.owner.pk)).exists():
        IdentityAlias.objects.create(tenant=tenant, contact=mentor, type="AUTH_USER",
                                     value=str(ctx.owner.pk))
    trait_grant(tenant=tenant, actor=actor, contact=mentor, trait="mentor")
    trait_grant(tenant=tenant, actor=actor, contact=acarya, trait="acarya")
    trait_grant(tenant=tenant, actor=actor, contact=people[2], trait="facilitator")
    unit_membership_add(tenant=tenant, actor=actor, unit=muscat, contact=mentor,
                        role="LEADER", since=date(2021, 3, 1))
    unit_membership_add(tenant=tenant, actor=actor, unit=seeb, contact=people[2],
                        role="SECRETARY", since=date(2022, 9, 1))

    course = course_create(tenant=tenant, actor=actor, title="Lessons 1-6", slug="lessons",
                           status="PUBLISHED", min_interval_days=30)
    lessons = [lesson_add(tenant=tenant, actor=actor, course=course, title=title,
                          body_md=body, est_minutes=minutes)
               for title, body, minutes in LESSONS]

    for index, person in enumerate(people[3:]):
        unit_membership_add(tenant=tenant, actor=actor, unit=cities[index % 3], contact=person,
                            since=date(2020 + index % 5, 1 + index % 12, 1))
        if index < 18:
            started = now - timedelta(days=rng.randint(60, 400))
            mentor_link_create(tenant=tenant, actor=actor, mentor=mentor,
                                      mentee=person, started_at=started)
            if index % 4:
                mentor_contact_record(tenant=tenant, mentor_id=mentor.pk, mentee_id=person.pk,
                                      at=now - timedelta(days=rng.randint(1, 60)))
        received = index % 7
        at = now - timedelta(days=40 * received + rng.randint(0, 120))
        for lesson in lessons[:received]:
            lesson_record(tenant=tenant, actor=actor, contact=person, lesson=lesson,
                          taught_by=acarya, received_at=at, check=False)
            at += timedelta(days=rng.randint(31, 45))
            if at > now:
                break
        if received >= 2:
            initiation_record(tenant=tenant, actor=actor, contact=person,
                              kind="INITIATION" if index % 3 else "NAMA_MANTRA",
                              date=(now - timedelta(days=200 + index)).date(), acarya=acarya,
                              place=["Muscat centre", "Dubai retreat", "Seeb hall"][index % 3])
        regularity = REGULARITIES[index % len(REGULARITIES)]
        if regularity:
            practice_update(tenant=tenant, actor=actor, contact=person, regularity=regularity,
                            notes="")
    created = _care_reminder_rules(ctx)
    ctx.notes.append(
        f"Care: 6 units, {len(people) - 3} members, the owner's contact ({mentor}) mentors 18 "
        "people (My mentees), the attention list shows why each person needs attention; "
        f"{created} practice and lesson reminders for the mentor and the Muscat leader.")


def _care_reminder_rules(ctx: DemoContext) -> int:
    """Two reminder rules of the care types, run once (the owner's contact is the mentor and
    Muscat's leader, so the owner's digest lists them)."""
    from tend.marketing.services.reminders import reminder_rule_create, reminder_rule_run

    created = 0
    for data in (
        {"name": "Practice check-ins", "type": "PRACTICE_CHECKIN", "params": {"days": 60},
         "recipients": ["mentor", "unit_secretary"]},
        {"name": "Lessons to follow up", "type": "LESSON_FOLLOWUP", "params": {"days": 30},
         "recipients": ["mentor", "unit_secretary"]},
    ):
        rule = reminder_rule_create(tenant=ctx.tenant, actor=ctx.actor, data=data)
        created += reminder_rule_run(tenant=ctx.tenant, rule=rule)[0]
    return created
