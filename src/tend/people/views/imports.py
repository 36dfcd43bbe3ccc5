"""Import wizard pages (upload → mapping and options → preview → run → report) and export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy

from tend.core.errors import TendError
from tend.core.models import Job, Tag
from tend.core.selectors.customfields import custom_definitions
from tend.core.tenancy import tenant_scope
from tend.core.views.base import apply_errors, is_htmx, require_perm
from tend.people.choices import ImportMode, ImportStatus
from tend.people.importing.mapping import PRESET_LABELS, target_choices
from tend.people.lists import list_choices
from tend.people.models import ContactImport
from tend.people.selectors.imports import export_job_get, import_get, import_list
from tend.people.services.exports import (
    EXPORT_FORMATS,
    EXPORT_SYNC_LIMIT,
    contact_export_file,
    contact_export_start,
    csv_stream,
    export_audit,
    export_queryset,
    export_rows,
    vcard_stream,
)
from tend.people.services.imports import (
    PREVIEW_ROWS,
    contact_import_configure,
    contact_import_create,
    contact_import_preview,
    contact_import_start,
    error_rows_csv,
)

EXPORT_FILTER_KEYS = ("status", "lifecycle_stage", "owner", "tag", "company", "created_after",
                      "created_before", "has_email", "has_phone")


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"), help_text=gettext_lazy(
        "CSV (any encoding; comma, semicolon or tab), Excel .xlsx or vCard .vcf."))


class OptionsForm(forms.Form):
    mode = forms.ChoiceField(label=gettext_lazy("Contacts that already exist"),
                             choices=ImportMode.choices, widget=forms.RadioSelect)
    tags = forms.MultipleChoiceField(label=gettext_lazy("Tag every imported contact with"),
                                     required=False)
    segment = forms.ChoiceField(label=gettext_lazy("Add everything imported to the list"),
                                required=False)


class ExportForm(forms.Form):
    format = forms.ChoiceField(label=gettext_lazy("Format"), choices=[
        ("csv", gettext_lazy("CSV")), ("xlsx", gettext_lazy("Excel (.xlsx)")),
        ("vcf", gettext_lazy("vCard"))], initial="csv", widget=forms.RadioSelect)


def _get(request: HttpRequest, import_id: Any) -> ContactImport:
    return import_get(tenant=request.tenant, import_id=import_id)  # type: ignore[attr-defined]


@require_perm("contacts.add")
def imports_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    bound = request.method == "POST"
    form = UploadForm(request.POST if bound else None, request.FILES if bound else None)
    if request.method == "POST" and form.is_valid():
        try:
            imp = contact_import_create(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                        file=form.cleaned_data["file"])
        except TendError as exc:
            apply_errors(form, exc)
        else:
            return redirect("people:imports-mapping", org_slug=org_slug, import_id=imp.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "people/imports_list.html", {
        "form": form, "imports": import_list(tenant=tenant)[:50],
    }, status=status)


def _mapping_rows(request: HttpRequest, imp: ContactImport) -> list[dict[str, Any]]:
    preview = contact_import_preview(tenant=request.tenant, imp=imp,  # type: ignore[attr-defined]
                                     rows=3)
    return [{"index": i, "header": header, "target": (imp.mapping or {}).get(header, ""),
             "samples": [r.cells[i] for r in preview if i < len(r.cells) and r.cells[i]]}
            for i, header in enumerate(imp.headers)]


def _import_lists(request: HttpRequest) -> list[tuple[str, str]]:
    """The lists an import may fill (none without a list provider or the permission)."""
    return list_choices(tenant=request.tenant,  # type: ignore[attr-defined]
                        actor=request.actor)  # type: ignore[attr-defined]


@require_perm("contacts.add")
def import_mapping(request: HttpRequest, org_slug: str, import_id: Any) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    imp = _get(request, import_id)
    if imp.status not in (ImportStatus.UPLOADED, ImportStatus.MAPPED):
        return redirect("people:imports-detail", org_slug=org_slug, import_id=imp.pk)
    tags = list(Tag.objects.filter(tenant=tenant))
    options = OptionsForm(request.POST or None, initial={
        "mode": imp.mode, "tags": [str(t) for t in imp.tag_ids or []]})
    tag_field: forms.MultipleChoiceField = options.fields["tags"]  # type: ignore[assignment]
    tag_field.choices = [(str(t.pk), t.name) for t in tags]
    lists = _import_lists(request)
    if lists:
        segment_field: forms.ChoiceField = options.fields["segment"]  # type: ignore[assignment]
        segment_field.choices = [("", "—"), *lists]
        options.initial["segment"] = (imp.options or {}).get("segment_id", "")
    else:
        del options.fields["segment"]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        mapping = {h: request.POST.get(f"col_{i}", "") for i, h in enumerate(imp.headers)}
        imp.mapping = {h: t for h, t in mapping.items() if t}
        if options.is_valid():
            try:
                contact_import_configure(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                         imp=imp, mapping=mapping,
                                         mode=options.cleaned_data["mode"],
                                         tag_ids=options.cleaned_data["tags"],
                                         segment_id=options.cleaned_data.get("segment")
                                         if lists else None)
            except TendError as exc:
                errors = exc.fields or {"mapping": [exc.message]}
            else:
                return redirect("people:imports-preview", org_slug=org_slug, import_id=imp.pk)
    rows = _mapping_rows(request, imp)
    for row in rows:
        row["errors"] = errors.get(f"mapping.{row['header']}", [])
    definitions = custom_definitions(tenant=tenant, entity_type="contact", active_only=True)
    return render(request, "people/import_mapping.html", {
        "imp": imp, "rows": rows, "choices": target_choices(definitions), "options": options,
        "preset_label": PRESET_LABELS.get(imp.detected_preset, ""),
        "general_errors": errors.get("mapping", []) + errors.get("mode", [])
        + errors.get("tag_ids", []) + errors.get("segment_id", []),
    }, status=422 if request.method == "POST" else 200)


@require_perm("contacts.add")
def import_preview(request: HttpRequest, org_slug: str, import_id: Any) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    imp = _get(request, import_id)
    if request.method == "POST":
        contact_import_start(tenant=tenant, actor=request.actor, imp=imp)  # type: ignore[attr-defined]
        return redirect("people:imports-detail", org_slug=org_slug, import_id=imp.pk)
    if imp.status not in (ImportStatus.MAPPED, ImportStatus.FAILED):
        return redirect("people:imports-detail", org_slug=org_slug, import_id=imp.pk)
    rows = contact_import_preview(tenant=tenant, imp=imp, rows=PREVIEW_ROWS)
    labels = dict(target_choices(custom_definitions(tenant=tenant, entity_type="contact")))
    mapped = [(i, h, labels.get(imp.mapping[h], imp.mapping[h]))
              for i, h in enumerate(imp.headers) if h in imp.mapping]
    return render(request, "people/import_preview.html", {
        "imp": imp, "columns": mapped,
        "rows": [{"number": r.number, "errors": r.errors,
                  "cells": [r.cells[i] if i < len(r.cells) else "" for i, _h, _l in mapped]}
                 for r in rows],
        "error_count": sum(1 for r in rows if r.errors),
        "preset_label": PRESET_LABELS.get(imp.detected_preset, ""),
        "mode_label": ImportMode(imp.mode).label,
    })


COUNT_LABELS = (("created", gettext_lazy("Created")), ("updated", gettext_lazy("Updated")),
                ("unchanged", gettext_lazy("Unchanged")), ("skipped", gettext_lazy("Skipped")),
                ("merged", gettext_lazy("Merged duplicates in the file")),
                ("errors", gettext_lazy("Rows with errors")))


@require_perm("contacts.add")
def import_detail(request: HttpRequest, org_slug: str, import_id: Any) -> HttpResponse:
    imp = _get(request, import_id)
    job: Job | None = imp.job
    counts = imp.counts or {}
    context = {
        "imp": imp, "job": job,
        "counts": [(key, label, int(counts.get(key, 0))) for key, label in COUNT_LABELS],
        "running": imp.status == ImportStatus.RUNNING,
        "progress": (imp.checkpoint * 100 // imp.total_rows) if imp.total_rows else 0,
        "can_view_job": request.actor.has_perm("jobs.view"),  # type: ignore[attr-defined]
    }
    if is_htmx(request):
        return render(request, "people/partials/import_report.html", context)
    return render(request, "people/import_detail.html", context)


@require_perm("contacts.add")
def import_errors(request: HttpRequest, org_slug: str, import_id: Any) -> HttpResponse:
    imp = _get(request, import_id)
    response = StreamingHttpResponse(error_rows_csv(imp), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-errors-{imp.pk}.csv"'
    return response  # type: ignore[return-value]


@require_perm("contacts.export")
def exports_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Export the contacts list's current search and filters (from the query string), or the
    `ids` selected. Small sets download at once; large ones run as a job."""
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    source = request.POST if request.method == "POST" else request.GET
    search = source.get("q", "")
    filters = {k: source.get(k) for k in EXPORT_FILTER_KEYS if source.get(k)}
    ids = source.getlist("ids") or None
    form = ExportForm(request.POST or None)
    try:
        qs = export_queryset(tenant=tenant, actor=actor, search=search, filters=filters, ids=ids)
        count = qs.count()
    except TendError as exc:
        return render(request, "web/error.html", {"error": exc}, status=exc.status)
    if request.method == "POST" and form.is_valid():
        format = form.cleaned_data["format"]
        if count > EXPORT_SYNC_LIMIT:
            job = contact_export_start(tenant=tenant, actor=actor, format=format, search=search,
                                       filters=filters, ids=ids)
            return redirect("people:exports-job", org_slug=org_slug, job_id=job.pk)
        return _download(request, qs, format, count)
    return render(request, "people/export_form.html", {
        "form": form, "count": count, "search": search, "filters": filters, "ids": ids or [],
        "background": count > EXPORT_SYNC_LIMIT,
    })


def _download(request: HttpRequest, qs: Any, format: str, count: int) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    content_type, extension = EXPORT_FORMATS[format]
    if format == "xlsx":
        name, _count = contact_export_file(tenant=tenant, actor=actor, format=format, qs=qs,
                                           name=f"exports/{tenant.pk}/download.xlsx")
        handle = default_storage.open(name, "rb")
        default_storage.delete(name)  # the open handle keeps the data until it is read
        return FileResponse(  # type: ignore[return-value]
            handle, as_attachment=True, filename=f"contacts.{extension}",
            content_type=content_type)
    export_audit(tenant=tenant, actor=actor, format=format, count=count)

    def body() -> Iterator[bytes]:
        # The response is read after the view returned: enter the tenant's scope again.
        with tenant_scope(tenant):
            yield from (csv_stream(export_rows(tenant=tenant, qs=qs)) if format == "csv"
                        else vcard_stream(qs))

    response = StreamingHttpResponse(body(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="contacts.{extension}"'
    return response  # type: ignore[return-value]


@require_perm("contacts.export")
def export_job(request: HttpRequest, org_slug: str, job_id: Any) -> HttpResponse:
    """A large export's page: progress while it runs, then the download link."""
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    job = export_job_get(tenant=tenant, actor=actor, job_id=job_id, finished=False)
    template = "people/partials/export_job.html" if is_htmx(request) else "people/export_job.html"
    return render(request, template, {"job": job})


@require_perm("contacts.export")
def export_file(request: HttpRequest, org_slug: str, job_id: Any) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    job = export_job_get(tenant=tenant, actor=actor, job_id=job_id)
    content_type, extension = EXPORT_FORMATS[job.result.get("format", "csv")]
    handle = default_storage.open(job.result["file"], "rb")
    return FileResponse(  # type: ignore[return-value]
        handle, as_attachment=True, filename=f"contacts.{extension}", content_type=content_type)


urlpatterns = [
    path("o/<slug:org_slug>/people/imports/", imports_list, name="imports-list"),
    path("o/<slug:org_slug>/people/imports/<uuid:import_id>/mapping/", import_mapping,
         name="imports-mapping"),
    path("o/<slug:org_slug>/people/imports/<uuid:import_id>/preview/", import_preview,
         name="imports-preview"),
    path("o/<slug:org_slug>/people/imports/<uuid:import_id>/", import_detail,
         name="imports-detail"),
    path("o/<slug:org_slug>/people/imports/<uuid:import_id>/errors.csv", import_errors,
         name="imports-errors"),
    path("o/<slug:org_slug>/people/exports/", exports_create, name="exports-create"),
    path("o/<slug:org_slug>/people/exports/<uuid:job_id>/", export_job, name="exports-job"),
    path("o/<slug:org_slug>/people/exports/<uuid:job_id>/file", export_file,
         name="exports-file"),
]
