"""Isolation entries for community's care part: units and memberships, traits, mentor links,
initiations, courses and lessons, lesson progress, practice and the attention list. The
victim gets a unit with a member, a trait, a mentor link, an initiation, a course with a
lesson received and a practice status, all named with canaries."""

from datetime import date

from tend.community.models import (
    Course,
    CourseLesson,
    Initiation,
    LessonProgress,
    MentorLink,
    PracticeChange,
    PracticeStatus,
    Unit,
    UnitMembership,
    UserTrait,
)
from tend.core.tests.isolation import register, victim_builder
from tend.people.models import Contact


@victim_builder
def _care(v, c):
    v.care_person = Contact.objects.create(tenant=v.tenant, first_name=c("care person"),
                                           display_name=c("care person display"))
    v.care_mentor = Contact.objects.create(tenant=v.tenant, first_name=c("care mentor"),
                                           display_name=c("care mentor display"))
    unit = Unit(tenant=v.tenant, name=c("unit name"), kind=c("unit kind"))
    unit.path = f"{unit.pk.hex}/"
    unit.save()
    v.care_unit = unit
    v.care_membership = UnitMembership.objects.create(tenant=v.tenant, unit=unit,
                                                      contact=v.care_person)
    v.care_trait = UserTrait.objects.create(tenant=v.tenant, contact=v.care_person,
                                            trait=c("trait")[:50].lower())
    v.care_link = MentorLink.objects.create(tenant=v.tenant, mentor=v.care_mentor,
                                            mentee=v.care_person)
    Initiation.objects.create(tenant=v.tenant, contact=v.care_person, kind="INITIATION",
                              date=date(2020, 1, 1), place=c("initiation place"))
    v.care_course = Course.objects.create(tenant=v.tenant, slug="victim-course",
                                          title=c("course title"))
    v.care_lesson = CourseLesson.objects.create(tenant=v.tenant, course=v.care_course, order=1,
                                                slug="one", title=c("lesson title"),
                                                body_md=c("lesson body"))
    v.care_lesson_two = CourseLesson.objects.create(
        tenant=v.tenant, course=v.care_course, order=2, slug="two", title=c("lesson two"))
    LessonProgress.objects.create(tenant=v.tenant, contact=v.care_person, lesson=v.care_lesson)
    PracticeStatus.objects.create(tenant=v.tenant, contact=v.care_person, regularity="NONE",
                                  notes=c("practice notes"))
    PracticeChange.objects.create(tenant=v.tenant, contact=v.care_person, regularity="NONE",
                                  notes=c("practice history notes"))


# Lists and creations act on the caller's own organization.
register("GET", "/api/v1/community/units", targets_victim=False)
register("POST", "/api/v1/community/units", targets_victim=False,
         body=lambda v: {"name": "Suite unit"})
register("GET", "/api/v1/community/my-mentees", targets_victim=False)
register("GET", "/api/v1/community/courses", targets_victim=False)
register("POST", "/api/v1/community/courses", targets_victim=False,
         body=lambda v: {"title": "Suite course"})
register("GET", "/api/v1/community/attention", targets_victim=False)
register("GET", "/api/v1/community/attention/settings", targets_victim=False)
register("PATCH", "/api/v1/community/attention/settings", targets_victim=False,
         body=lambda v: {"days_since_contact": 21})
# Naming the victim's people in a body is a field error (422).
register("POST", "/api/v1/community/mentor-links", targets_victim=True, also_ok=(422,),
         body=lambda v: {"mentor_id": str(v.care_mentor.pk),
                         "mentee_id": str(v.care_person.pk)})

unit = {"path": lambda v: {"unit_id": v.care_unit.pk}}
register("GET", "/api/v1/community/units/{unit_id}", **unit)
register("PATCH", "/api/v1/community/units/{unit_id}", **unit, body=lambda v: {"name": "X"})
register("DELETE", "/api/v1/community/units/{unit_id}", **unit)
register("GET", "/api/v1/community/units/{unit_id}/members", **unit)
register("POST", "/api/v1/community/units/{unit_id}/members", **unit,
         body=lambda v: {"contact_id": str(v.care_person.pk)})
register("POST", "/api/v1/community/unit-memberships/{membership_id}/end",
         path=lambda v: {"membership_id": v.care_membership.pk},
         body=lambda v: {"until": "2030-01-01"})
register("DELETE", "/api/v1/community/traits/{trait_id}",
         path=lambda v: {"trait_id": v.care_trait.pk})
register("POST", "/api/v1/community/mentor-links/{link_id}/end",
         path=lambda v: {"link_id": v.care_link.pk})

course = {"path": lambda v: {"course_id": v.care_course.pk}}
register("GET", "/api/v1/community/courses/{course_id}", **course)
register("PATCH", "/api/v1/community/courses/{course_id}", **course,
         body=lambda v: {"title": "Renamed"})
register("GET", "/api/v1/community/courses/{course_id}/lessons", **course)
register("POST", "/api/v1/community/courses/{course_id}/lessons", **course,
         body=lambda v: {"title": "Suite lesson"})

person = {"path": lambda v: {"contact_id": v.care_person.pk}}
register("GET", "/api/v1/contacts/{contact_id}/traits", **person)
register("POST", "/api/v1/contacts/{contact_id}/traits", **person,
         body=lambda v: {"trait": "facilitator"})
register("GET", "/api/v1/contacts/{contact_id}/mentors", **person)
register("GET", "/api/v1/contacts/{contact_id}/initiations", **person)
register("POST", "/api/v1/contacts/{contact_id}/initiations", **person,
         body=lambda v: {"kind": "INITIATION", "date": "2020-02-02"})
register("GET", "/api/v1/contacts/{contact_id}/lessons", **person)
register("POST", "/api/v1/contacts/{contact_id}/lessons", **person,
         body=lambda v: {"lesson_id": str(v.care_lesson_two.pk)})
register("GET", "/api/v1/contacts/{contact_id}/practice", **person)
register("POST", "/api/v1/contacts/{contact_id}/practice", **person,
         body=lambda v: {"regularity": "DAILY"})
