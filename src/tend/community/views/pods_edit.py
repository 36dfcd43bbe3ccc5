"""Editing pages of the pods part: a person's progress (matching profile, commitments and
goals, with forms to add them), one commitment (edit, check in), one goal (edit, add a
summary) and one meeting (agenda, notes, action items, energy level, who was there and how
they rated it). Bad input re-renders the form with field-level messages and a 422."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _

from tend.community.models import (
    CommitmentStatus,
    ExperienceLevel,
    GoalStatus,
    MeetingAttendance,
    MeetingStatus,
    MeetingStyle,
    PodsProfile,
)
from tend.community.selectors.pods_core import (
    commitment_get,
    commitment_list,
    goal_get,
    goal_list,
    meeting_get,
    pod_members,
)
from tend.community.services.commitments import (
    commitment_check_in,
    commitment_create,
    commitment_update,
    goal_create,
    goal_update,
)
from tend.community.services.pods_core import (
    attendance_record,
    meeting_update,
    pod_refresh_health,
    profile_update,
)
from tend.core.actors import Actor
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import Tenant
from tend.core.views.base import require_perm, tenant_and_actor
from tend.people.models import Contact
from tend.people.selectors.contact_page import access_contact

COMMITMENT_FIELDS = ("text", "category", "difficulty", "estimated_minutes", "due_date",
                     "goal_id", "status")
GOAL_FIELDS = ("title", "description", "target_date", "category", "progress", "status",
               "summary")
MEETING_FIELDS = ("agenda", "notes", "action_items", "energy_level", "status")


def _person(tenant: Tenant, actor: Actor, contact_id: Any) -> Contact:
    """The contact if the actor may see them (visibility limits apply), else NotFound."""
    return access_contact(tenant=tenant, contact_id=contact_id, actor=actor, related=False)


def _form(request: HttpRequest, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: request.POST.get(name, "") for name in names if name in request.POST}


def _goals(tenant: Tenant, contact: Contact) -> list[Any]:
    return list(goal_list(tenant=tenant, contact=contact)[:100])


@require_perm("pods.view")
def progress_page(request: HttpRequest, org_slug: str, contact_id: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    contact = _person(tenant, actor, contact_id)
    errors: dict[str, list[str]] = {}
    form = ""
    if request.method == "POST":
        form = request.POST.get("action", "")
        try:
            if form == "commitment":
                data = _form(request, COMMITMENT_FIELDS)
                goal = None
                if data.get("goal_id"):
                    try:
                        goal = goal_get(tenant=tenant, goal_id=data["goal_id"])
                    except NotFound:
                        raise ValidationFailed(fields={"goal_id": [
                            _("Choose one of this person's goals.")]}) from None
                commitment = commitment_create(
                    tenant=tenant, actor=actor, contact=contact, text=data.get("text", ""),
                    category=data.get("category", ""), difficulty=data.get("difficulty"),
                    estimated_minutes=data.get("estimated_minutes"),
                    due_date=data.get("due_date"), goal=goal,
                    shared_with_pod=request.POST.get("shared_with_pod") == "on")
                return redirect("community:commitment", org_slug=org_slug,
                                commitment_id=commitment.pk)
            if form == "goal":
                goal = goal_create(tenant=tenant, actor=actor, contact=contact,
                                   data=_form(request, GOAL_FIELDS))
                return redirect("community:goal", org_slug=org_slug, goal_id=goal.pk)
            if form == "profile":
                data: dict[str, Any] = _form(request, (  # type: ignore[no-redef]
                    "goals_category", "experience_level", "meeting_style", "strengths",
                    "help_needed", "bio"))
                data["waiting"] = request.POST.get("waiting") == "on"
                profile_update(tenant=tenant, actor=actor, contact=contact, data=data)
                return redirect("community:pods-progress", org_slug=org_slug,
                                contact_id=contact.pk)
        except ValidationFailed as exc:
            errors = exc.fields
    context = {
        "contact": contact, "errors": errors, "posted": request.POST,
        "bad_commitment": bool(errors) and form == "commitment",
        "bad_goal": bool(errors) and form == "goal",
        "profile": PodsProfile.objects.filter(tenant=tenant, contact=contact).first(),
        "commitments": list(commitment_list(tenant=tenant, contact=contact)[:50]),
        "goals": _goals(tenant, contact), "levels": ExperienceLevel.choices,
        "styles": MeetingStyle.choices, "can_change": actor.has_perm("pods.change"),
    }
    return render(request, "community/pods_progress.html", context,
                  status=422 if errors else 200)


@require_perm("pods.view")
def commitment_page(request: HttpRequest, org_slug: str, commitment_id: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    commitment = commitment_get(tenant=tenant, commitment_id=commitment_id)
    contact = _person(tenant, actor, commitment.contact_id)
    errors: dict[str, list[str]] = {}
    form = ""
    if request.method == "POST":
        if not actor.has_perm("pods.change"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        form = request.POST.get("action", "")
        try:
            if form == "edit":
                data = _form(request, COMMITMENT_FIELDS)
                data["shared_with_pod"] = request.POST.get("shared_with_pod") == "on"
                commitment_update(tenant=tenant, actor=actor, commitment=commitment, data=data)
            elif form == "check-in":
                commitment_check_in(tenant=tenant, actor=actor, commitment=commitment,
                                    done=request.POST.get("done") == "yes",
                                    note=request.POST.get("note", ""),
                                    complete=request.POST.get("complete") == "on")
            return redirect("community:commitment", org_slug=org_slug,
                            commitment_id=commitment.pk)
        except ValidationFailed as exc:
            errors = exc.fields
    checkins = list(commitment.checkins.filter(tenant=tenant).order_by("-day")[:30])
    return render(request, "community/pods_commitment.html", {
        "commitment": commitment, "contact": contact, "errors": errors,
        "bad_edit": bool(errors) and form == "edit",
        "posted": request.POST, "goals": _goals(tenant, contact), "checkins": checkins,
        "statuses": CommitmentStatus.choices, "can_change": actor.has_perm("pods.change"),
        "difficulties": range(1, 6),
    }, status=422 if errors else 200)


@require_perm("pods.view")
def goal_page(request: HttpRequest, org_slug: str, goal_id: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    goal = goal_get(tenant=tenant, goal_id=goal_id)
    contact = _person(tenant, actor, goal.contact_id)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not actor.has_perm("pods.change"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        try:
            goal_update(tenant=tenant, actor=actor, goal=goal,
                        data=_form(request, GOAL_FIELDS))
            return redirect("community:goal", org_slug=org_slug, goal_id=goal.pk)
        except ValidationFailed as exc:
            errors = exc.fields
            goal = goal_get(tenant=tenant, goal_id=goal_id)
    return render(request, "community/pods_goal.html", {
        "goal": goal, "contact": contact, "errors": errors, "posted": request.POST,
        "statuses": GoalStatus.choices, "can_change": actor.has_perm("pods.change"),
        "commitments": list(goal.commitments.filter(tenant=tenant)[:50]),
        "summaries": list(reversed(goal.summaries or [])),
    }, status=422 if errors else 200)


@require_perm("pods.view")
def meeting_page(request: HttpRequest, org_slug: str, meeting_id: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    meeting = meeting_get(tenant=tenant, meeting_id=meeting_id)
    members = list(pod_members(tenant=tenant, pod=meeting.pod)[:100])
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not actor.has_perm("pods.change"):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        try:
            if request.POST.get("action") == "attendance":
                _attendance(request, tenant, actor, meeting, members)
                pod_refresh_health(tenant=tenant, pod=meeting.pod)
            else:
                meeting_update(tenant=tenant, actor=actor, meeting=meeting,
                               data=_form(request, MEETING_FIELDS))
            return redirect("community:pod-meeting", org_slug=org_slug, meeting_id=meeting.pk)
        except ValidationFailed as exc:
            errors = exc.fields
            meeting = meeting_get(tenant=tenant, meeting_id=meeting_id)
    answers = {a.contact_id: a for a in MeetingAttendance.objects.filter(
        tenant=tenant, meeting=meeting)}
    rows = [(m, answers.get(m.contact_id), errors.get(f"rating-{m.contact_id}", []))
            for m in members]
    return render(request, "community/pods_meeting.html", {
        "meeting": meeting, "pod": meeting.pod, "rows": rows, "errors": errors,
        "posted": request.POST, "statuses": MeetingStatus.choices,
        "action_items_text": "\n".join(meeting.action_items or []),
        "can_change": actor.has_perm("pods.change"), "ratings": range(1, 6),
    }, status=422 if errors else 200)


def _attendance(request: HttpRequest, tenant: Tenant, actor: Actor, meeting: Any,
                members: list[Any]) -> None:
    """Each member's present/absent answer with an optional rating; every bad rating is
    reported against its own field (`rating-<contact id>`), nothing saved then."""
    wanted = []
    errors: dict[str, list[str]] = {}
    for member in members:
        value = request.POST.get(f"m-{member.contact_id}")
        raw = (request.POST.get(f"rating-{member.contact_id}") or "").strip()
        rating = None
        if raw:
            if raw.isdecimal() and 1 <= int(raw) <= 5:
                rating = int(raw)
            else:
                errors[f"rating-{member.contact_id}"] = [_("Enter a rating from 1 to 5.")]
        if value in ("yes", "no"):
            wanted.append((member.contact, value == "yes", rating))
    if errors:
        raise ValidationFailed(fields=errors)
    for contact, attended, rating in wanted:
        attendance_record(tenant=tenant, actor=actor, meeting=meeting, contact=contact,
                          attended=attended, rating=rating)


urlpatterns = [
    path("o/<slug:org_slug>/community/people/<str:contact_id>/progress/", progress_page,
         name="pods-progress"),
    path("o/<slug:org_slug>/community/commitments/<str:commitment_id>/", commitment_page,
         name="commitment"),
    path("o/<slug:org_slug>/community/goals/<str:goal_id>/", goal_page, name="goal"),
    path("o/<slug:org_slug>/community/pod-meetings/<str:meeting_id>/", meeting_page,
         name="pod-meeting"),
]
