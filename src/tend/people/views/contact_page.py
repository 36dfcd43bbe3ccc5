"""The contact page ("360"): profile, identities, consent, custom fields, the timeline with
filters and infinite scroll, notes, interactions, tasks, and the panels other modules add.

Each section's form posts to its own URL. With htmx the answer is the re-rendered section
(422 with the errors in the form when the service refuses) and an `HX-Trigger:
timeline-changed` so the timeline reloads; without htmx it redirects back to the page, or
shows the page again with the errors and a 422.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.api.base import PageParams, paginate
from tend.core.errors import TendError, ValidationFailed
from tend.core.models import Membership, Tenant, User
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.core.zones import tenant_zone
from tend.people.choices import (
    ActivityCategory,
    ConsentChannel,
    ConsentPurpose,
    ConsentStatus,
    Direction,
    InteractionChannel,
    NoteType,
    TaskPriority,
    TaskStatus,
)
from tend.people.markdown import render_markdown
from tend.people.models import Contact
from tend.people.panels import render_contact_panels
from tend.people.selectors.consents import consent_history, consent_list
from tend.people.selectors.contact_page import (
    access_contact,
    contact_aliases,
    contact_custom_values,
    contact_tags,
    initials,
)
from tend.people.selectors.interactions import interaction_list
from tend.people.selectors.notes import note_get, note_list
from tend.people.selectors.tasks import task_get, task_list
from tend.people.selectors.timeline import TIMELINE_ORDERING, timeline_for
from tend.people.services.consent import consent_set
from tend.people.services.interactions import interaction_log
from tend.people.services.notes import note_create, note_delete, note_pin
from tend.people.services.tasks import task_complete, task_create
from tend.people.timeline import actor_display, render_timeline

TIMELINE_PAGE = 20
RECENT_INTERACTIONS = 10
CONSENT_HISTORY = 10
RECENT_DONE_TASKS = 5


class NoteForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Note"), max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=gettext_lazy("Markdown: **bold**, *italic*, lists, links."))
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=NoteType.choices,
                             initial=NoteType.GENERAL)
    is_private = forms.BooleanField(label=gettext_lazy("Private (only you can see it)"),
                                    required=False)


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=InteractionChannel.choices,
                                initial=InteractionChannel.PHONE)
    direction = forms.ChoiceField(label=gettext_lazy("Direction"), choices=Direction.choices,
                                  initial=Direction.OUTBOUND)
    summary = forms.CharField(label=gettext_lazy("Summary"), max_length=5_000,
                              widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.CharField(label=gettext_lazy("Outcome"), max_length=200, required=False)
    follow_up_on = forms.DateField(label=gettext_lazy("Follow up on"), required=False,
                                   widget=forms.DateInput(attrs={"type": "date"}))


class TaskForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Task"), max_length=200)
    due_on = forms.DateField(label=gettext_lazy("Due"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))
    assignee = forms.ChoiceField(label=gettext_lazy("Assignee"), required=False)
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), choices=TaskPriority.choices,
                                 initial=TaskPriority.NORMAL)

    def __init__(self, *args: Any, members: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Nobody")), *[
            (str(m.user_id), m.user.full_name or m.user.email) for m in members]]


class TimelineFilterForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), required=False)
    since = forms.DateField(label=gettext_lazy("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("All")), *ActivityCategory.choices]

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


# --- building the page ------------------------------------------------------------------------


def _members(tenant: Tenant) -> list[Membership]:
    return list(Membership.objects.filter(tenant=tenant, is_active=True)
                .select_related("user").order_by("user__full_name", "user__email"))


def _edit_url(tenant: Tenant, contact: Contact) -> str | None:
    try:
        return reverse("people:contacts-edit",
                       kwargs={"org_slug": tenant.slug, "contact_id": contact.pk})
    except NoReverseMatch:
        return None


def _can(actor: Actor) -> dict[str, bool]:
    names = ("notes.view", "notes.add", "notes.change", "notes.delete", "activities.view",
             "activities.add", "tasks.view", "tasks.add", "tasks.change", "consents.view",
             "consents.change")
    return {name.replace(".", "_"): actor.has_perm(name) for name in names}


def _timeline_page(request: HttpRequest, contact: Contact, filters: dict[str, Any],
                   cursor: str | None) -> dict[str, Any]:
    page = paginate(timeline_for(tenant=request.tenant, actor=request.actor,  # type: ignore[attr-defined]
                                 contact=contact, filters=filters),
                    PageParams(cursor=cursor, limit=TIMELINE_PAGE), ordering=TIMELINE_ORDERING)
    query = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}
    return {"entries": render_timeline(page["items"]), "next_cursor": page["next_cursor"],
            "filter_query": query}


def _consent_rows(tenant: Tenant, contact: Contact) -> list[dict[str, Any]]:
    current = {(c.channel, c.purpose): c for c in consent_list(tenant=tenant, contact=contact)}
    rows = []
    for channel in ConsentChannel:
        cells = []
        for purpose in (ConsentPurpose.MARKETING, ConsentPurpose.TRANSACTIONAL):
            consent = current.get((channel.value, purpose.value))
            cells.append({"purpose": purpose, "consent": consent, "granted":
                          consent is not None and consent.status == ConsentStatus.GRANTED})
        rows.append({"channel": channel, "cells": cells})
    return rows


def _section_context(request: HttpRequest, contact: Contact, section: str,
                     form: forms.Form | None = None) -> dict[str, Any]:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    can = _can(actor)
    context: dict[str, Any] = {"contact": contact, "tenant": tenant, "can": can}
    if section == "notes":
        notes = (list(note_list(tenant=tenant, actor=actor, contact=contact))
                 if can["notes_view"] else [])
        for note in notes:
            note.body_html = render_markdown(note.body)  # type: ignore[attr-defined]
        context["notes"] = notes
        context["note_form"] = form or NoteForm()
        context["note_types"] = NoteType.choices
        context["me_id"] = getattr(actor.acting_user, "pk", None)
    elif section == "interactions":
        context["interactions"] = (
            list(interaction_list(tenant=tenant, contact=contact)[:RECENT_INTERACTIONS])
            if can["activities_view"] else [])
        context["interaction_form"] = form or InteractionForm()
    elif section == "tasks":
        context["tasks"] = (list(task_list(tenant=tenant, filters={
            "contact": contact.pk, "status": TaskStatus.OPEN})) if can["tasks_view"] else [])
        context["done_tasks"] = (list(task_list(tenant=tenant, filters={
            "contact": contact.pk, "status": TaskStatus.DONE}).order_by(
                "-completed_at", "-id")[:RECENT_DONE_TASKS]) if can["tasks_view"] else [])
        context["task_form"] = form or TaskForm(members=_members(tenant))
    elif section == "consent":
        context["consent_rows"] = _consent_rows(tenant, contact) if can["consents_view"] else []
        context["consent_events"] = (
            list(consent_history(tenant=tenant, contact=contact)[:CONSENT_HISTORY])
            if can["consents_view"] else [])
        for event in context["consent_events"]:
            event.actor_display = actor_display(event.actor_label or "")  # type: ignore[attr-defined]
    return context


def _page_context(request: HttpRequest, contact: Contact,
                  forms_by_section: dict[str, forms.Form] | None = None) -> dict[str, Any]:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    forms_by_section = forms_by_section or {}
    context: dict[str, Any] = {}
    for section in ("notes", "interactions", "tasks", "consent"):
        context.update(_section_context(request, contact, section,
                                        forms_by_section.get(section)))
    filter_form = TimelineFilterForm(request.GET or None)
    filters = filter_form.filters()
    context.update(
        initials=initials(contact),
        aliases=contact_aliases(tenant=tenant, contact=contact),
        tags=contact_tags(tenant=tenant, contact=contact),
        custom_values=contact_custom_values(tenant=tenant, contact=contact),
        edit_url=_edit_url(tenant, contact),
        filter_form=filter_form,
        panels=render_contact_panels(tenant=tenant, actor=actor, contact=contact,
                                     request=request),
    )
    if context["can"]["activities_view"]:
        context.update(_timeline_page(request, contact, filters, None))
    return context


def _contact(request: HttpRequest, contact_id: UUID) -> Contact:
    return access_contact(tenant=request.tenant, contact_id=contact_id)  # type: ignore[attr-defined]


def _page_url(tenant: Tenant, contact: Contact) -> str:
    return reverse("people:contacts-detail",
                   kwargs={"org_slug": tenant.slug, "contact_id": contact.pk})


@require_perm("contacts.view")
def contact_detail(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    contact = access_contact(tenant=request.tenant, contact_id=contact_id,  # type: ignore[attr-defined]
                             include_merged=True, actor=request.actor)  # type: ignore[attr-defined]
    if contact.merged_into_id is not None:
        return redirect("people:contacts-detail", org_slug=org_slug,
                        contact_id=contact.merged_into_id)
    return render(request, "people/contact_page.html", _page_context(request, contact))


@require_perm("contacts.view", "activities.view")
def contact_timeline(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    """A page of the timeline (htmx): the filter form reloads it, the last item's sentinel
    fetches the next page when it scrolls into view."""
    contact = _contact(request, contact_id)
    filter_form = TimelineFilterForm(request.GET)
    if not filter_form.is_valid():
        return render(request, "people/partials/timeline_items.html",
                      {"contact": contact, "tenant": request.tenant, "entries": [],  # type: ignore[attr-defined]
                       "filter_errors": filter_form.errors}, status=422)
    try:
        context = _timeline_page(request, contact, filter_form.filters(),
                                 request.GET.get("cursor") or None)
    except ValidationFailed:
        return HttpResponse(_("The cursor is not valid."), status=422)
    return render(request, "people/partials/timeline_items.html",
                  {"contact": contact, "tenant": request.tenant, **context})  # type: ignore[attr-defined]


def _answer(request: HttpRequest, contact: Contact, section: str, form: forms.Form | None,
            error: TendError | None, success: str) -> HttpResponse:
    """The re-rendered section (htmx) or a redirect / the page with errors (no htmx)."""
    status = error.status if error is not None else 200
    if is_htmx(request):
        response = render(request, f"people/partials/section_{section}.html",
                          _section_context(request, contact, section,
                                           form if error is not None else None),
                          status=status)
        if error is None:
            response["HX-Trigger"] = "timeline-changed"
        return response
    if error is None:
        messages.success(request, success)
        return redirect(_page_url(request.tenant, contact))  # type: ignore[attr-defined]
    forms_by_section = {section: form} if form is not None else {}
    return render(request, "people/contact_page.html",
                  _page_context(request, contact, forms_by_section), status=status)


@require_POST
@require_perm("contacts.view", "notes.add")
def note_add(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    contact = _contact(request, contact_id)
    form = NoteForm(request.POST)
    error: TendError | None = None
    if form.is_valid():
        try:
            note_create(tenant=request.tenant, actor=request.actor, contact=contact,  # type: ignore[attr-defined]
                        body=form.cleaned_data["body"], type=form.cleaned_data["type"],
                        is_private=form.cleaned_data["is_private"])
        except ValidationFailed as exc:
            apply_errors(form, exc)
            error = exc
    else:
        error = _form_error(form)
    return _answer(request, contact, "notes", form, error, _("Note added."))


@require_POST
@require_perm("contacts.view", "notes.change")
def note_pin_toggle(request: HttpRequest, org_slug: str, note_id: UUID) -> HttpResponse:
    note = note_get(tenant=request.tenant, actor=request.actor, note_id=note_id)  # type: ignore[attr-defined]
    note_pin(tenant=request.tenant, actor=request.actor, note=note,  # type: ignore[attr-defined]
             pinned=request.POST.get("pinned") == "1")
    contact = _contact(request, note.contact_id)  # type: ignore[arg-type]  # company notes: 404
    return _answer(request, contact, "notes", None, None, _("Note updated."))


@require_POST
@require_perm("contacts.view", "notes.delete")
def note_remove(request: HttpRequest, org_slug: str, note_id: UUID) -> HttpResponse:
    note = note_get(tenant=request.tenant, actor=request.actor, note_id=note_id)  # type: ignore[attr-defined]
    contact = _contact(request, note.contact_id)  # type: ignore[arg-type]  # company notes: 404
    note_delete(tenant=request.tenant, actor=request.actor, note=note)  # type: ignore[attr-defined]
    return _answer(request, contact, "notes", None, None, _("Note deleted."))


@require_POST
@require_perm("contacts.view", "activities.add")
def interaction_add(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    contact = _contact(request, contact_id)
    form = InteractionForm(request.POST)
    error: TendError | None = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            interaction_log(tenant=request.tenant, actor=request.actor, contact=contact,  # type: ignore[attr-defined]
                            channel=data["channel"], direction=data["direction"],
                            summary=data["summary"], outcome=data["outcome"],
                            follow_up_on=data["follow_up_on"])
        except ValidationFailed as exc:
            apply_errors(form, exc)
            error = exc
    else:
        error = _form_error(form)
    return _answer(request, contact, "interactions", form, error, _("Interaction logged."))


def _form_error(form: forms.Form) -> ValidationFailed:
    return ValidationFailed(fields={name: [str(m) for m in errors]
                                    for name, errors in form.errors.items()})


def _due_at(tenant: Tenant, day: Any) -> datetime | None:
    """A due day means the end of that day in the organization's time zone."""
    if not day:
        return None
    return datetime.combine(day, time(23, 59), tzinfo=tenant_zone(tenant))


@require_POST
@require_perm("contacts.view", "tasks.add")
def task_add(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    contact = _contact(request, contact_id)
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    form = TaskForm(request.POST, members=_members(tenant))
    error: TendError | None = None
    if form.is_valid():
        data = form.cleaned_data
        assignee = User.objects.filter(pk=data["assignee"]).first() if data["assignee"] else None
        try:
            task_create(tenant=tenant, actor=request.actor, title=data["title"],  # type: ignore[attr-defined]
                        due_at=_due_at(tenant, data["due_on"]), assignee=assignee,
                        priority=data["priority"], contact=contact)
        except ValidationFailed as exc:
            apply_errors(form, exc, field_map={"due_at": "due_on"})
            error = exc
    else:
        error = _form_error(form)
    return _answer(request, contact, "tasks", form, error, _("Task added."))


@require_POST
@require_perm("tasks.change")
def task_done(request: HttpRequest, org_slug: str, task_id: UUID) -> HttpResponse:
    """Complete a task from the contact page (answers the tasks section) or from "my tasks"
    (answers an empty row, or redirects back)."""
    task = task_get(tenant=request.tenant, task_id=task_id)  # type: ignore[attr-defined]
    task_complete(tenant=request.tenant, actor=request.actor, task=task)  # type: ignore[attr-defined]
    if request.POST.get("from") == "mine" or task.contact_id is None:
        if is_htmx(request):
            return HttpResponse("")
        messages.success(request, _("Task completed."))
        return redirect("people:tasks-mine", org_slug=org_slug)
    contact = _contact(request, task.contact_id)
    return _answer(request, contact, "tasks", None, None, _("Task completed."))


@require_POST
@require_perm("contacts.view", "consents.change")
def consent_change(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    contact = _contact(request, contact_id)
    error: TendError | None = None
    try:
        consent_set(tenant=request.tenant, actor=request.actor, contact=contact,  # type: ignore[attr-defined]
                    channel=request.POST.get("channel", ""),
                    purpose=request.POST.get("purpose") or ConsentPurpose.MARKETING,
                    status=request.POST.get("status", ""),
                    source=_("Changed by staff on the contact page"))
    except ValidationFailed as exc:
        error = exc
        messages.error(request, exc.message)
    return _answer(request, contact, "consent", None, error, _("Consent updated."))


prefix = "o/<slug:org_slug>/people/"
urlpatterns = [
    path(f"{prefix}contacts/<uuid:contact_id>/", contact_detail, name="contacts-detail"),
    path(f"{prefix}contacts/<uuid:contact_id>/timeline/", contact_timeline,
         name="contacts-timeline"),
    path(f"{prefix}contacts/<uuid:contact_id>/notes/", note_add, name="contacts-note-add"),
    path(f"{prefix}notes/<uuid:note_id>/pin/", note_pin_toggle, name="notes-pin"),
    path(f"{prefix}notes/<uuid:note_id>/delete/", note_remove, name="notes-delete"),
    path(f"{prefix}contacts/<uuid:contact_id>/interactions/", interaction_add,
         name="contacts-interaction-add"),
    path(f"{prefix}contacts/<uuid:contact_id>/tasks/", task_add, name="contacts-task-add"),
    path(f"{prefix}tasks/<uuid:task_id>/complete/", task_done, name="tasks-complete"),
    path(f"{prefix}contacts/<uuid:contact_id>/consent/", consent_change,
         name="contacts-consent-set"),
]
