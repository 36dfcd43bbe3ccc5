"""Settings → Tags: the organization's tags, adding, editing and deleting them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import NotFound, TendError
from tend.core.models import Tag, Tenant
from tend.core.selectors.tags import tag_get, tag_list
from tend.core.services.tags import DEFAULT_COLOR, tag_create, tag_delete, tag_update
from tend.core.views.base import apply_errors, require_perm


def _tag_or_404(tenant: Tenant, tag_id: UUID) -> Tag:
    try:
        return tag_get(tenant=tenant, tag_id=tag_id)
    except NotFound:
        raise Http404 from None


class TagForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    color = forms.CharField(label=gettext_lazy("Color"), max_length=7, initial=DEFAULT_COLOR,
                            widget=forms.TextInput(attrs={"type": "color"}))
    description = forms.CharField(label=gettext_lazy("Description"), max_length=300,
                                  required=False)


def _list(request: HttpRequest, form: TagForm | None = None, status: int = 200
          ) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    search = request.GET.get("q", "").strip()[:100]
    can_add = actor.has_perm("tags.add")
    return render(request, "core/tags.html", {
        "tags": list(tag_list(tenant=tenant, search=search)),
        "search": search,
        "form": form or (TagForm() if can_add else None),
        "can_add": can_add,
        "can_change": actor.has_perm("tags.change"),
    }, status=status)


@require_perm("tags.view")
def tags_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The tags, with a form to add one (for members with `tags.add`)."""
    if request.method != "POST":
        return _list(request)
    actor: Actor = request.actor  # type: ignore[attr-defined]
    if not actor.has_perm("tags.add"):
        raise PermissionDenied
    tenant = request.tenant  # type: ignore[attr-defined]
    form = TagForm(request.POST)
    if form.is_valid():
        try:
            tag = tag_create(tenant=tenant, actor=actor, **form.cleaned_data)
        except TendError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The tag %(name)s was added.") % {"name": tag.name})
            return redirect("core:tags-list", org_slug=tenant.slug)
    return _list(request, form, status=422)


def _detail(request: HttpRequest, tag: Tag, form: TagForm | None = None,
            status: int = 200) -> HttpResponse:
    actor: Actor = request.actor  # type: ignore[attr-defined]
    can_change = actor.has_perm("tags.change")
    if form is None:
        form = TagForm(initial={"name": tag.name, "color": tag.color,
                                "description": tag.description})
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    context: dict[str, Any] = {"tag": tag, "form": form, "can_change": can_change,
                               "can_delete": actor.has_perm("tags.delete")}
    return render(request, "core/tag_form.html", context, status=status)


@require_perm("tags.view")
def tags_detail(request: HttpRequest, org_slug: str, tag_id: UUID) -> HttpResponse:
    """One tag; renamed, recolored or described by members with `tags.change`."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    tag = _tag_or_404(tenant, tag_id)
    if request.method != "POST":
        return _detail(request, tag)
    if not actor.has_perm("tags.change"):
        raise PermissionDenied
    form = TagForm(request.POST)
    if form.is_valid():
        try:
            tag_update(tenant=tenant, actor=actor, tag=tag, **form.cleaned_data)
        except TendError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("The tag %(name)s was saved.") % {"name": tag.name})
            return redirect("core:tags-list", org_slug=tenant.slug)
    return _detail(request, tag, form, status=422)


@require_POST
@require_perm("tags.delete")
def tags_delete(request: HttpRequest, org_slug: str, tag_id: UUID) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    tag = _tag_or_404(tenant, tag_id)
    name = tag.name
    tag_delete(tenant=tenant, actor=request.actor, tag=tag)  # type: ignore[attr-defined]
    messages.success(request, _("The tag %(name)s was deleted.") % {"name": name})
    return redirect("core:tags-list", org_slug=tenant.slug)


urlpatterns = [
    path("o/<slug:org_slug>/settings/tags/", tags_list, name="tags-list"),
    path("o/<slug:org_slug>/settings/tags/<uuid:tag_id>/", tags_detail, name="tags-detail"),
    path("o/<slug:org_slug>/settings/tags/<uuid:tag_id>/delete/", tags_delete,
         name="tags-delete"),
]
