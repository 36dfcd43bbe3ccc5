"""Contact-page panels of the care part: units, mentor and mentees, initiations, lessons and
practice history. Each context runs a fixed number of queries."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from tend.community.models import Regularity
from tend.community.selectors.care_people import (
    contact_initiations,
    contact_lessons,
    contact_practice_history,
    contact_summary,
    contact_traits,
    mentor_links,
)
from tend.community.selectors.care_units import current_q
from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.people.models import Contact

HISTORY_ROWS = 10


def units_context(*, tenant: Tenant, actor: Actor, contact: Contact) -> dict[str, Any] | None:
    from tend.community.models import UnitMembership

    memberships = list(UnitMembership.objects.filter(current_q(), tenant=tenant,
                                                     contact=contact).select_related("unit"))
    traits = list(contact_traits(tenant=tenant, contact=contact))
    return {"memberships": memberships, "traits": traits}


def mentor_context(*, tenant: Tenant, actor: Actor, contact: Contact) -> dict[str, Any] | None:
    return {"mentors": list(mentor_links(tenant=tenant, mentee=contact, actor=actor)),
            "mentees": list(mentor_links(tenant=tenant, mentor=contact, actor=actor))}


def path_context(*, tenant: Tenant, actor: Actor, contact: Contact) -> dict[str, Any] | None:
    return {
        "initiations": list(contact_initiations(tenant=tenant, contact=contact)),
        "lessons": list(contact_lessons(tenant=tenant, contact=contact)),
        "summary": contact_summary(tenant=tenant, contact=contact),
        "practice": list(contact_practice_history(tenant=tenant, contact=contact)
                         [:HISTORY_ROWS]),
        "regularities": Regularity.choices,
        "can_record": actor.has_perm("care.change"),
        "lesson_choices": record_lesson_choices(tenant=tenant) if actor.has_perm(
            "care.change") else [],
        "contact": contact, "errors": {},
    }


def record_lesson_choices(*, tenant: Tenant) -> list[Any]:
    """The lessons of published courses (what staff may record as received), by course."""
    from tend.community.models import CourseLesson, CourseStatus

    return list(CourseLesson.objects.filter(tenant=tenant, course__status=CourseStatus.PUBLISHED)
                .select_related("course").order_by("course__title", "order")[:500])


def register() -> None:
    from tend.people.panels import register_contact_panel

    register_contact_panel("community.units", _("Units and traits"),
                           "community/partials/care_panel_units.html", units_context,
                           permission="units.view", order=400)
    register_contact_panel("community.mentor", _("Mentor and mentees"),
                           "community/partials/care_panel_mentor.html", mentor_context,
                           permission="care.view", order=410)
    register_contact_panel("community.path", _("Initiations, lessons and practice"),
                           "community/partials/care_panel_path.html", path_context,
                           permission="care.view", order=420)
