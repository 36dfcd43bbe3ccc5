"""Courses and their lessons; recording a received lesson and a practice status from a
contact."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from tend.community.models import Regularity
from tend.community.selectors.care_panels import record_lesson_choices
from tend.community.selectors.care_people import (
    course_get,
    course_lessons,
    course_list,
    lesson_get,
)
from tend.community.services.care_courses import course_create, lesson_add, lesson_record
from tend.community.services.care_practice import practice_update
from tend.core.errors import NotFound, ValidationFailed
from tend.core.views.base import form_post, form_status, require_perm
from tend.people.selectors.contact_page import access_contact


@require_perm("care.view")
def courses(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]

    def create() -> HttpResponse:
        raw = request.POST.get("min_interval_days", "0").strip() or "0"
        course = course_create(
            tenant=tenant, actor=actor, title=request.POST.get("title", ""),
            min_interval_days=int(raw) if raw.isdecimal() else -1,
            status=request.POST.get("status", "DRAFT"))
        return redirect("community:care-course", org_slug=org_slug, course_id=course.pk)

    done, errors = form_post(request, create)
    if done is not None:
        return done
    return render(request, "community/care_courses.html", {
        "courses": list(course_list(tenant=tenant)), "errors": errors,
        "can_manage": actor.has_perm("care.manage")}, status=form_status(errors))


@require_perm("care.view")
def course_detail(request: HttpRequest, org_slug: str, course_id: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    course = course_get(tenant=tenant, course_id=course_id)

    def add() -> HttpResponse:
        lesson_add(tenant=tenant, actor=actor, course=course,
                   title=request.POST.get("title", ""), body_md=request.POST.get("body_md", ""))
        return redirect("community:care-course", org_slug=org_slug, course_id=course.pk)

    done, errors = form_post(request, add)
    if done is not None:
        return done
    return render(request, "community/care_course.html", {
        "course": course, "lessons": list(course_lessons(tenant=tenant, course=course)),
        "errors": errors, "can_manage": actor.has_perm("care.manage")},
        status=form_status(errors))


@require_perm("care.change")
def contact_care_record(request: HttpRequest, org_slug: str, contact_id: str) -> HttpResponse:
    """Record a received lesson or a practice status (the forms of the contact page's care
    panel). Bad input shows the forms again with the field errors (422)."""
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    contact = access_contact(tenant=tenant, contact_id=contact_id, actor=actor)
    if request.method != "POST":
        return redirect("people:contacts-detail", org_slug=org_slug, contact_id=contact.pk)
    try:
        if request.POST.get("action") == "lesson":
            try:
                lesson = lesson_get(tenant=tenant, lesson_id=request.POST.get("lesson_id"))
            except NotFound:
                raise ValidationFailed(fields={"lesson_id": [_("Choose a lesson.")]}) from None
            lesson_record(tenant=tenant, actor=actor, contact=contact, lesson=lesson)
        else:
            regularity = request.POST.get("regularity", "")
            if regularity not in Regularity.values:
                raise ValidationFailed(fields={"regularity": [_("Choose a practice status.")]})
            notes = request.POST.get("notes", "")
            if len(notes) > 2000:
                raise ValidationFailed(fields={"notes": [_("Use at most 2000 characters.")]})
            practice_update(tenant=tenant, actor=actor, contact=contact,
                            regularity=regularity, notes=notes)
    except ValidationFailed as exc:
        return render(request, "community/care_contact_record.html", {
            "contact": contact, "errors": exc.fields or {"lesson_id": [str(exc)]},
            "regularities": Regularity.choices,
            "lesson_choices": record_lesson_choices(tenant=tenant),
            "chosen_lesson": request.POST.get("lesson_id", "")}, status=422)
    return redirect("people:contacts-detail", org_slug=org_slug, contact_id=contact.pk)


urlpatterns = [
    path("o/<slug:org_slug>/community/courses/", courses, name="care-courses"),
    path("o/<slug:org_slug>/community/courses/<str:course_id>/", course_detail,
         name="care-course"),
    path("o/<slug:org_slug>/community/contacts/<str:contact_id>/care/", contact_care_record,
         name="care-contact-record"),
]
