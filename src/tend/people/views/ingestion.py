"""Settings → Ingestion: webhook sources (create — the URL and secret shown once —, rotate
the secret, deactivate) and the ingestion log with a status filter."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.errors import TendError
from tend.core.origins import public_origin
from tend.core.views.base import apply_errors, require_perm, tenant_and_actor
from tend.people.choices import IngestionStatus
from tend.people.models import IngestionSource
from tend.people.selectors.ingestion import access_source, ingestion_log_list, source_list
from tend.people.services.sources import (
    source_create,
    source_deactivate,
    source_rotate_secret,
    source_update,
)

LOG_ROWS = 100


class SourceForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=100,
        help_text=gettext_lazy("The system that will send activities, such as “Booking "
                               "system”."),
    )


def _page(request: HttpRequest, *, form: SourceForm | None = None,
          status: int = 200) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    log_status = request.GET.get("status") or ""
    if log_status not in IngestionStatus.values:
        log_status = ""
    logs = list(ingestion_log_list(tenant=tenant, actor=actor,
                                   status=log_status or None)[:LOG_ROWS])
    return render(request, "people/ingestion.html", {
        "sources": list(source_list(tenant=tenant, actor=actor)),
        "logs": logs,
        "log_status": log_status,
        "statuses": IngestionStatus.choices,
        "form": form or SourceForm(),
    }, status=status)


def _secret_page(request: HttpRequest, source: IngestionSource, secret: str, *,
                 created: bool) -> HttpResponse:
    url = public_origin(request) + reverse("people:hooks-source", kwargs={"key": source.key})
    response = render(request, "people/ingestion_secret.html", {
        "source": source, "secret": secret, "url": url, "created": created,
    })
    response["Cache-Control"] = "no-store"  # the secret must not linger in any cache
    return response


@require_perm("activities.manage")
def ingestion_sources(request: HttpRequest, org_slug: str) -> HttpResponse:
    return _page(request)


@require_POST
@require_perm("activities.manage")
def ingestion_source_add(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            source, secret = source_create(tenant=tenant, actor=actor,
                                           name=form.cleaned_data["name"])
        except TendError as exc:
            apply_errors(form, exc)
        else:
            return _secret_page(request, source, secret, created=True)
    return _page(request, form=form, status=422)


@require_POST
@require_perm("activities.manage")
def ingestion_source_rotate(request: HttpRequest, org_slug: str,
                            source_id: UUID) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    source = access_source(tenant=tenant, actor=actor, source_id=source_id)
    source, secret = source_rotate_secret(tenant=tenant, actor=actor, source=source)
    return _secret_page(request, source, secret, created=False)


def _toggle(request: HttpRequest, source_id: UUID, *, active: bool) -> HttpResponse:
    tenant, actor = tenant_and_actor(request)
    source = access_source(tenant=tenant, actor=actor, source_id=source_id)
    if active:
        source_update(tenant=tenant, actor=actor, source=source, is_active=True)
        messages.success(request, _("%(name)s accepts deliveries again.")
                         % {"name": source.name})
    else:
        source_deactivate(tenant=tenant, actor=actor, source=source)
        messages.success(request, _("%(name)s was deactivated; its deliveries are refused.")
                         % {"name": source.name})
    return redirect("people:ingestion-sources", org_slug=tenant.slug)


@require_POST
@require_perm("activities.manage")
def ingestion_source_deactivate(request: HttpRequest, org_slug: str,
                                source_id: UUID) -> HttpResponse:
    return _toggle(request, source_id, active=False)


@require_POST
@require_perm("activities.manage")
def ingestion_source_activate(request: HttpRequest, org_slug: str,
                              source_id: UUID) -> HttpResponse:
    return _toggle(request, source_id, active=True)


_base = "o/<slug:org_slug>/settings/ingestion"
_source = f"{_base}/sources/<uuid:source_id>"
urlpatterns: list[Any] = [
    path(f"{_base}/", ingestion_sources, name="ingestion-sources"),
    path(f"{_base}/sources/add/", ingestion_source_add, name="ingestion-source-add"),
    path(f"{_source}/rotate/", ingestion_source_rotate, name="ingestion-source-rotate"),
    path(f"{_source}/deactivate/", ingestion_source_deactivate,
         name="ingestion-source-deactivate"),
    path(f"{_source}/activate/", ingestion_source_activate, name="ingestion-source-activate"),
]
