"""Message templates: the list, creating, editing (a published version's change becomes the
next draft), publishing, archiving, and a preview against a chosen contact."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.conf import settings
from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.errors import NotFound, TendError
from tend.core.views.base import apply_errors, is_htmx, require_perm, tenant_and_actor
from tend.messaging import rendering
from tend.messaging.choices import ChannelKind, TemplateCategory, TemplateStatus
from tend.messaging.models import Template
from tend.messaging.selectors.templates import template_get, template_list, template_versions
from tend.messaging.services.templates import (
    template_archive,
    template_create,
    template_preview,
    template_publish,
    template_update,
)
from tend.people.models import Contact
from tend.people.selectors.contact_page import access_contact
from tend.people.visibility import visible_contacts

MAX_ROWS = 300
PREVIEW_CONTACTS = 100


class TemplateEditForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    subject = forms.CharField(label=gettext_lazy("Subject (email)"), max_length=300,
                              required=False)
    body = forms.CharField(label=gettext_lazy("Message"), widget=forms.Textarea(attrs={
        "rows": 6}), required=False)
    category = forms.ChoiceField(label=gettext_lazy("Category"),
                                 choices=TemplateCategory.choices,
                                 initial=TemplateCategory.UTILITY)
    provider_template_name = forms.CharField(
        label=gettext_lazy("WhatsApp template name"), max_length=200, required=False,
        help_text=gettext_lazy("The approved WhatsApp template this one is sent as outside "
                               "the 24-hour window."))


class TemplateCreateForm(TemplateEditForm):
    key = forms.CharField(label=gettext_lazy("Key"), max_length=100, help_text=gettext_lazy(
        "Shared by the template's languages and channels, e.g. welcome."))
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=ChannelKind.choices)
    language = forms.CharField(label=gettext_lazy("Language"), max_length=10, initial="en",
                               help_text=gettext_lazy("A language code such as en or ar."))
    field_order = ["key", "channel", "language", "name", "subject", "body", "category",
                   "provider_template_name"]


def _variables_help() -> list[str]:
    return [f"{{{{ {ns}.{name} }}}}" for ns, names in rendering.allowed_variables().items()
            for name in names]


@require_perm("templates.view")
def templates_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    status = request.GET.get("status", "")
    channel = request.GET.get("channel", "")
    q = request.GET.get("q", "").strip()[:100]
    tenant, actor = tenant_and_actor(request)
    rows = list(template_list(
        tenant=tenant, q=q,
        status=status if status in TemplateStatus.values else "",
        channel=channel if channel in ChannelKind.values else "")[:MAX_ROWS])
    return render(request, "messaging/templates_list.html", {
        "templates": rows, "status": status, "channel": channel, "q": q,
        "statuses": TemplateStatus.choices, "channels": ChannelKind.choices,
        "can_change": actor.has_perm("templates.change"),
    })


@require_perm("templates.change")
def templates_new(request: HttpRequest, org_slug: str) -> HttpResponse:
    form = TemplateCreateForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        tenant, actor = tenant_and_actor(request)
        try:
            template = template_create(tenant=tenant, actor=actor,
                                       key=data["key"], channel=data["channel"],
                                       language=data["language"], body=data["body"],
                                       subject=data["subject"], name=data["name"],
                                       category=data["category"],
                                       provider_template_name=data["provider_template_name"])
        except TendError as exc:
            apply_errors(form, exc)
        else:
            flash.success(request, _("Draft saved. Publish it to use it."))
            return redirect("messaging:templates-detail", org_slug=org_slug,
                            template_id=template.pk)
    if request.method == "POST":
        status = 422
    return render(request, "messaging/template_form.html", {
        "form": form, "variables": _variables_help(),
    }, status=status)


def _detail(request: HttpRequest, template: Template, form: TemplateEditForm | None = None,
            status: int = 200) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    editable = template.status != TemplateStatus.ARCHIVED and actor.has_perm("templates.change")
    if form is None and editable:
        form = TemplateEditForm(initial={name: getattr(template, name) for name in (
            "name", "subject", "body", "category", "provider_template_name")})
    contacts = list(visible_contacts(Contact.objects.filter(tenant=tenant, deleted_at__isnull=True),
                                     tenant=tenant, actor=actor)
                    .order_by("display_name", "id").only("id", "display_name", "language")
                    [:PREVIEW_CONTACTS])
    return render(request, "messaging/template_detail.html", {
        "template": template, "form": form if editable else None,
        "versions": template_versions(tenant=tenant, template=template),
        "contacts": contacts, "variables": _variables_help(),
        "can_manage": actor.has_perm("templates.manage"),
        "languages": settings.LANGUAGES,
    }, status=status)


@require_perm("templates.view")
def templates_detail(request: HttpRequest, org_slug: str, template_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    template = template_get(tenant=tenant, template_id=template_id)
    if request.method != "POST":
        return _detail(request, template)
    if not actor.has_perm("templates.change"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    form = TemplateEditForm(request.POST)
    if form.is_valid():
        try:
            draft = template_update(tenant=tenant, actor=actor,
                                    template=template, values=form.cleaned_data)
        except TendError as exc:
            apply_errors(form, exc)
        else:
            if draft.pk != template.pk:
                flash.success(request, _("Saved as version %(v)d, a draft.") % {
                    "v": draft.version})
            else:
                flash.success(request, _("Draft saved."))
            return redirect("messaging:templates-detail", org_slug=org_slug,
                            template_id=draft.pk)
    return _detail(request, template, form, status=422)


@require_POST
@require_perm("templates.manage")
def templates_publish(request: HttpRequest, org_slug: str, template_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    template = template_get(tenant=tenant, template_id=template_id)
    template_publish(tenant=tenant, actor=actor, template=template)
    flash.success(request, _("Published version %(v)d.") % {"v": template.version})
    return redirect("messaging:templates-detail", org_slug=org_slug, template_id=template.pk)


@require_POST
@require_perm("templates.manage")
def templates_archive(request: HttpRequest, org_slug: str, template_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    template = template_get(tenant=tenant, template_id=template_id)
    template_archive(tenant=tenant, actor=actor, template=template)
    flash.success(request, _("Archived."))
    return redirect("messaging:templates-detail", org_slug=org_slug, template_id=template.pk)


@require_perm("templates.view")
def templates_preview(request: HttpRequest, org_slug: str, template_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    template = template_get(tenant=tenant, template_id=template_id)
    contact = None
    contact_id = request.GET.get("contact", "")
    if contact_id:
        try:
            contact = access_contact(tenant=tenant, contact_id=contact_id, actor=actor)
        except NotFound:
            contact = None
    preview: dict[str, Any] = template_preview(tenant=tenant, actor=actor,
                                               template=template, contact=contact)
    context = {"template": template, "preview": preview, "preview_contact": contact}
    if is_htmx(request):
        return render(request, "messaging/partials/template_preview.html", context)
    return render(request, "messaging/template_preview_page.html", context)


base = "o/<slug:org_slug>/messaging/templates/"
urlpatterns = [
    path(base, templates_list, name="templates"),
    path(f"{base}new/", templates_new, name="templates-new"),
    path(f"{base}<uuid:template_id>/", templates_detail, name="templates-detail"),
    path(f"{base}<uuid:template_id>/publish/", templates_publish, name="templates-publish"),
    path(f"{base}<uuid:template_id>/archive/", templates_archive, name="templates-archive"),
    path(f"{base}<uuid:template_id>/preview/", templates_preview, name="templates-preview"),
]
