"""Settings → Audit log: the organization's entries with filters, paging and CSV export."""

from __future__ import annotations

import csv
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.selectors.audit import (
    AuditFilters,
    audit_actions,
    audit_actor_choices,
    audit_entity_types,
    audit_entries,
)
from tend.core.services.audit import audit_export
from tend.core.views.base import apply_errors, require_perm

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    # Select widgets over free fields: a link may name an actor or type not in the log yet.
    actor = forms.CharField(label=_("Who"), max_length=64, required=False,
                            widget=forms.Select())
    action = forms.CharField(
        label=_("Action"), max_length=100, required=False,
        help_text=_("Exact, e.g. tag.created; end with a dot for all of a kind, e.g. tag."),
        widget=forms.TextInput(attrs={"list": "audit-actions", "dir": "ltr"}),
    )
    entity_type = forms.CharField(label=_("Record type"), max_length=100, required=False,
                                  widget=forms.Select())
    entity_id = forms.CharField(label=_("Record id"), max_length=64, required=False,
                                widget=forms.TextInput(attrs={"dir": "ltr"}))
    date_from = forms.DateField(label=_("From"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, actors: list[tuple[str, str]],
                 entity_types: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].widget.choices = [("", _("Anyone")), *actors]
        self.fields["entity_type"].widget.choices = [("", _("Any")),
                                                     *[(t, t) for t in entity_types]]

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data.get("actor") or "", action=(data.get("action") or "").strip(),
            entity_type=data.get("entity_type") or "",
            entity_id=(data.get("entity_id") or "").strip(),
            date_from=data.get("date_from"), date_to=data.get("date_to"),
        )


def _form(request: HttpRequest) -> AuditFilterForm:
    tenant = request.tenant  # type: ignore[attr-defined]
    actors = [(c.value, c.label) for c in audit_actor_choices(tenant=tenant)]
    return AuditFilterForm(request.GET or None, actors=actors,
                           entity_types=audit_entity_types(tenant=tenant))


@require_GET
@require_perm("audit.view")
def audit_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Newest first, `PAGE_SIZE` at a time; "older" pages continue below the last shown
    entry's number, so new entries never shift a page."""
    tenant = request.tenant  # type: ignore[attr-defined]
    actor: Actor = request.actor  # type: ignore[attr-defined]
    form = _form(request)
    entries: list[Any] = []
    older_url = ""
    status = 200
    filters = AuditFilters()
    if form.is_bound and not form.is_valid():
        status = 422
    else:
        if form.is_bound:
            filters = form.filters()
        try:
            queryset = audit_entries(tenant=tenant, filters=filters)
        except ValidationFailed as exc:
            apply_errors(form, exc)
            status = 422
        else:
            before = form.cleaned_data.get("before") if form.is_bound else None
            if before:
                queryset = queryset.filter(seq__lt=before)
            entries = list(queryset[: PAGE_SIZE + 1])
            if len(entries) > PAGE_SIZE:
                entries = entries[:PAGE_SIZE]
                older_url = "?" + urlencode({**filters.as_params(), "before": entries[-1].seq})
    params = filters.as_params()
    return render(request, "core/audit.html", {
        "form": form, "entries": entries, "older_url": older_url,
        "newest_url": "?" + urlencode(params) if params else "?",
        "paged": bool(form.is_bound and form.is_valid() and form.cleaned_data.get("before")),
        "export_query": urlencode(params),
        "actions": audit_actions(tenant=tenant),
        "can_export": actor.has_perm("audit.export"),
    }, status=status)


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value: str) -> str:
        return value


@require_GET
@require_perm("audit.view", "audit.export")
def audit_export_csv(request: HttpRequest, org_slug: str) -> HttpResponse:
    """The filtered entries as CSV (all of them, not one page); the export is itself audited."""
    tenant = request.tenant  # type: ignore[attr-defined]
    form = _form(request)
    if form.is_bound and not form.is_valid():
        return audit_list(request, org_slug)  # the list shows the filter errors (422)
    filters = form.filters() if form.is_bound else AuditFilters()
    try:
        rows = audit_export(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                            filters=filters)
    except ValidationFailed:
        return audit_list(request, org_slug)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{tenant.slug}.csv"'
    # A streamed response, though not an HttpResponse subclass, is what Django sends on.
    return response  # type: ignore[return-value]


urlpatterns = [
    path("o/<slug:org_slug>/settings/audit/", audit_list, name="audit-list"),
    path("o/<slug:org_slug>/settings/audit/export.csv", audit_export_csv, name="audit-export"),
]
