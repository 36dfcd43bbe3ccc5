"""Changing what the contact page lists: edit a note's text, edit a task (title, due day,
priority, assignee, the contact or company it is about) and reopen a done task.

The note form sits under each note on the contact page and answers like the page's other
section forms (the re-rendered notes section for htmx, a redirect without it). A task has its
own edit page, reached from the contact page and from "my tasks".
"""

from __future__ import annotations

from typing import Any, cast
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import NotFound, TendError, ValidationFailed
from tend.core.models import Tenant, User
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.core.zones import tenant_zone
from tend.people.choices import NoteType, TaskPriority, TaskStatus
from tend.people.models import Contact, Note, Task
from tend.people.selectors.contact_page import access_contact
from tend.people.selectors.contacts import company_get, company_list, contact_list
from tend.people.selectors.notes import note_get
from tend.people.selectors.tasks import task_get
from tend.people.services.notes import note_update
from tend.people.services.tasks import task_reopen, task_update
from tend.people.views.contact_page import (
    _answer,
    _due_at,
    _members,
    _section_context,
)

CONTACT_OPTIONS = 20
COMPANY_CHOICES = 500


class NoteEditForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Note"), max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 4}))
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=NoteType.choices)


def _note_contact(request: HttpRequest, note: Note) -> Contact:
    if note.contact_id is None:  # company notes are not on a contact page
        raise NotFound(_("No such note."))
    return access_contact(tenant=request.tenant, contact_id=note.contact_id)  # type: ignore[attr-defined]


@require_POST
@require_perm("contacts.view", "notes.change")
def note_edit(request: HttpRequest, org_slug: str, note_id: UUID) -> HttpResponse:
    """Save a note's new text and type. Only its author may change a private note (the
    service refuses anyone else; other people cannot even see it: 404)."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    note = note_get(tenant=tenant, actor=request.actor, note_id=note_id)  # type: ignore[attr-defined]
    contact = _note_contact(request, note)
    form = NoteEditForm(request.POST)
    error: TendError | None = None
    if form.is_valid():
        try:
            note_update(tenant=tenant, actor=request.actor, note=note,  # type: ignore[attr-defined]
                        body=form.cleaned_data["body"], type=form.cleaned_data["type"])
        except ValidationFailed as exc:
            apply_errors(form, exc)
            error = exc
    else:
        error = ValidationFailed(fields={k: [str(m) for m in v] for k, v in form.errors.items()})
    if error is None or not is_htmx(request):
        if error is not None:
            messages.error(request, "; ".join(m for ms in error.fields.values() for m in ms)
                           or error.message)
        return _answer(request, contact, "notes", None, error, _("Note saved."))
    context = _section_context(request, contact, "notes")
    context.update(editing_note_id=note.pk, note_edit_form=form)
    return render(request, "people/partials/section_notes.html", context, status=error.status)


# --- tasks ---------------------------------------------------------------------------------------


class TaskEditForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Task"), max_length=200)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=5_000,
                                  required=False, widget=forms.Textarea(attrs={"rows": 3}))
    due_on = forms.DateField(label=gettext_lazy("Due"), required=False,
                             widget=forms.DateInput(attrs={"type": "date"}))
    priority = forms.ChoiceField(label=gettext_lazy("Priority"), choices=TaskPriority.choices)
    assignee = forms.ChoiceField(label=gettext_lazy("Assignee"), required=False)
    contact = forms.ChoiceField(
        label=gettext_lazy("Contact"), required=False,
        help_text=gettext_lazy("Type a name, email or phone above the list to find someone."))
    company = forms.ChoiceField(label=gettext_lazy("Company"), required=False)

    def __init__(self, *args: Any, tenant: Tenant, task: Task, contact: Contact | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        members = [(str(m.user_id), m.user.full_name or m.user.email) for m in _members(tenant)]
        if task.assignee_id and str(task.assignee_id) not in dict(members):
            assert task.assignee is not None
            members.append((str(task.assignee_id), task.assignee.full_name or
                            task.assignee.email))
        cast(forms.ChoiceField, self.fields["assignee"]).choices = [
            ("", _("Nobody")), *members]
        # The contact list holds the task's contact and the one picked in the search.
        shown = contact if contact is not None else task.contact
        cast(forms.ChoiceField, self.fields["contact"]).choices = [
            ("", _("Nobody")), *([(str(shown.pk), str(shown))] if shown is not None else [])]
        companies = [(str(pk), name) for pk, name in
                     company_list(tenant=tenant).values_list("pk", "name")[:COMPANY_CHOICES]]
        if task.company_id and str(task.company_id) not in dict(companies):
            assert task.company is not None
            companies.append((str(task.company_id), task.company.name))
        cast(forms.ChoiceField, self.fields["company"]).choices = [("", "—"), *companies]


def _task_initial(tenant: Tenant, task: Task) -> dict[str, Any]:
    due_on = (task.due_at.astimezone(tenant_zone(tenant)).date()
              if task.due_at else None)
    return {"title": task.title, "description": task.description, "due_on": due_on,
            "priority": task.priority, "assignee": str(task.assignee_id or ""),
            "contact": str(task.contact_id or ""), "company": str(task.company_id or "")}


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return fallback


def _task_back(tenant: Tenant, task: Task) -> str:
    if task.contact_id is not None:
        return reverse("people:contacts-detail",
                       kwargs={"org_slug": tenant.slug, "contact_id": task.contact_id})
    return reverse("people:tasks-mine", kwargs={"org_slug": tenant.slug})


def _picked_contact(tenant: Tenant, raw: str) -> Contact | None:
    """The contact chosen in the form: one of this organization's live contacts."""
    if not raw:
        return None
    try:
        return access_contact(tenant=tenant, contact_id=raw)
    except NotFound:
        raise ValidationFailed(fields={"contact": [
            _("Choose a contact of this organization.")]}) from None


def _task_form_page(request: HttpRequest, task: Task, form: TaskEditForm,
                    status: int = 200) -> HttpResponse:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    return render(request, "people/task_form.html", {
        "task": task, "form": form, "next": _safe_next(request, _task_back(tenant, task)),
        "can_reopen": task.status != TaskStatus.OPEN,
    }, status=status)


@require_perm("tasks.view", "tasks.change")
def task_edit(request: HttpRequest, org_slug: str, task_id: UUID) -> HttpResponse:
    """A task's edit page: GET shows the form, POST saves it (422 with the errors)."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    task = task_get(tenant=tenant, task_id=task_id)
    if request.method != "POST":
        return _task_form_page(request, task, TaskEditForm(
            tenant=tenant, task=task, initial=_task_initial(tenant, task)))
    contact: Contact | None = None
    error: TendError | None = None
    try:
        contact = _picked_contact(tenant, request.POST.get("contact", ""))
    except ValidationFailed as exc:
        error = exc
    form = TaskEditForm(request.POST, tenant=tenant, task=task, contact=contact)
    if error is None and form.is_valid():
        data = form.cleaned_data
        assignee = (User.objects.filter(pk=data["assignee"]).first()
                    if data["assignee"] else None)
        company = company_get(tenant=tenant, company_id=data["company"]) \
            if data["company"] else None
        try:
            task_update(tenant=tenant, actor=actor, task=task, title=data["title"],
                        description=data["description"], priority=data["priority"],
                        due_at=_due_at(tenant, data["due_on"]), assignee=assignee,
                        contact=contact, company=company)
        except ValidationFailed as exc:
            apply_errors(form, exc, field_map={"due_at": "due_on"})
        else:
            messages.success(request, _("Task saved."))
            return redirect(_safe_next(request, _task_back(tenant, task)))
    elif error is not None:
        form.is_valid()
        apply_errors(form, error)
    return _task_form_page(request, task, form, status=422)


@require_perm("tasks.view", "tasks.change")
def task_contact_options(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The `<option>`s of contacts matching `q` (htmx, for the task form's contact list)."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    search = request.GET.get("q", "").strip()[:200]
    contacts = (list(contact_list(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                  search=search)[:CONTACT_OPTIONS]) if search else [])
    # The first match is chosen; the current choice stays in the list to go back to.
    current = request.GET.get("contact", "")
    selected = str(contacts[0].pk) if contacts else current
    if current and not any(str(c.pk) == current for c in contacts):
        try:
            contacts.append(access_contact(tenant=tenant, contact_id=current))
        except NotFound:
            selected = "" if selected == current else selected
    return render(request, "people/partials/task_contact_options.html", {
        "contacts": contacts, "selected": selected})


@require_POST
@require_perm("tasks.change")
def task_reopen_view(request: HttpRequest, org_slug: str, task_id: UUID) -> HttpResponse:
    """Open a done task again, then go back where the button was."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    task = task_get(tenant=tenant, task_id=task_id)
    task_reopen(tenant=tenant, actor=request.actor, task=task)  # type: ignore[attr-defined]
    messages.success(request, _("Task reopened."))
    return redirect(_safe_next(request, _task_back(tenant, task)))


prefix = "o/<slug:org_slug>/people/"
urlpatterns = [
    path(f"{prefix}notes/<uuid:note_id>/edit/", note_edit, name="notes-edit"),
    path(f"{prefix}tasks/<uuid:task_id>/edit/", task_edit, name="tasks-edit"),
    path(f"{prefix}tasks/<uuid:task_id>/reopen/", task_reopen_view, name="tasks-reopen"),
    path(f"{prefix}tasks/contact-options/", task_contact_options,
         name="tasks-contact-options"),
]
