"""Contact import and export: upload a file, set its mapping and options, preview, start, read
the status and report, download the error rows; start an export and download its file."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse
from ninja import Field, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound
from tend.people.importing.mapping import PRESET_LABELS
from tend.people.selectors.imports import export_job_get, import_get, import_list
from tend.people.services.exports import EXPORT_FORMATS, contact_export_start
from tend.people.services.imports import (
    contact_import_configure,
    contact_import_create,
    contact_import_preview,
    contact_import_start,
    error_rows_csv,
)

router = Router(tags=["Imports and exports"])


class ImportOut(Schema):
    id: UUID
    original_name: str
    format: str = Field(description="csv, xlsx or vcf")
    encoding: str
    delimiter: str
    detected_preset: str = Field(description="hubspot, mailchimp, google, tend, or empty")
    headers: list[str]
    mapping: dict[str, str] = Field(description="column → target (see docs/people.md)")
    mode: str
    tag_ids: list[str]
    status: str
    job_id: UUID | None
    total_rows: int | None
    checkpoint: int = Field(description="Rows already applied.")
    counts: dict[str, int] = Field(
        description="created, updated, unchanged, skipped, merged, errors")
    created_at: datetime

    @staticmethod
    def resolve_counts(obj: Any) -> dict[str, int]:
        return {k: int(v) for k, v in (obj.counts or {}).items()}


class ImportPatch(Schema):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, str] | None = Field(
        None, description="column → target; columns left out are not imported")
    mode: str | None = Field(None, description="UPDATE, FILL_BLANKS or SKIP")
    tag_ids: list[UUID] | None = Field(None, description="Tags put on every imported contact.")


class PreviewRow(Schema):
    row: int
    values: dict[str, Any]
    errors: list[str]


class PreviewOut(Schema):
    preset: str
    preset_label: str
    rows: list[PreviewRow]


class JobStarted(Schema):
    id: UUID
    kind: str
    status: str


class ExportIn(Schema):
    model_config = ConfigDict(extra="forbid")

    format: str = Field("csv", description="csv, xlsx or vcf")
    search: str = Field("", max_length=200)
    filters: dict[str, Any] = Field(default_factory=dict,
                                    description="The contacts list's filters.")
    ids: list[UUID] | None = Field(None, description="Only these contacts (a selection).")


def _import(request: ApiRequest, import_id: UUID) -> Any:
    return import_get(tenant=request.tenant, import_id=import_id)


@router.get("/people/imports", response=Page[ImportOut])
def imports_list(request: ApiRequest, page: Query[PageParams]) -> Any:
    require(request, "contacts.add")
    return paginate(import_list(tenant=request.tenant), page)


@router.post("/people/imports", response={201: ImportOut})
def imports_upload(request: ApiRequest, file: File[UploadedFile]) -> Any:
    """Upload a CSV, XLSX or vCard file (multipart, field `file`). Its columns come back
    auto-mapped; check them with the preview, change them with PATCH, then start."""
    actor = require(request, "contacts.add")
    return Status(201, contact_import_create(tenant=request.tenant, actor=actor, file=file))


@router.get("/people/imports/{import_id}", response=ImportOut)
def imports_get(request: ApiRequest, import_id: UUID) -> Any:
    require(request, "contacts.add")
    return _import(request, import_id)


@router.patch("/people/imports/{import_id}", response=ImportOut)
def imports_configure(request: ApiRequest, import_id: UUID, data: ImportPatch) -> Any:
    actor = require(request, "contacts.add")
    return contact_import_configure(tenant=request.tenant, actor=actor,
                                    imp=_import(request, import_id), mapping=data.mapping,
                                    mode=data.mode, tag_ids=data.tag_ids)


@router.get("/people/imports/{import_id}/preview", response=PreviewOut)
def imports_preview(request: ApiRequest, import_id: UUID) -> Any:
    """The first 20 rows as they would be imported, each with its errors."""
    require(request, "contacts.add")
    imp = _import(request, import_id)
    rows = contact_import_preview(tenant=request.tenant, imp=imp)
    return {"preset": imp.detected_preset,
            "preset_label": str(PRESET_LABELS.get(imp.detected_preset, "")),
            "rows": [{"row": r.number, "errors": r.errors, "values": preview_values(r)}
                     for r in rows]}


def preview_values(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
                              for k, v in row.fields.items()}
    if row.emails:
        values["email"] = row.emails
    if row.phones:
        values["phone"] = row.phones
    if row.tags:
        values["tags"] = row.tags
    if row.company:
        values["company"] = row.company
    for key, value in row.custom.items():
        values[f"custom.{key}"] = value
    for system, value in row.externals:
        values[f"external.{system}"] = value
    return values


@router.post("/people/imports/{import_id}/start", response={202: JobStarted})
def imports_start(request: ApiRequest, import_id: UUID) -> Any:
    """Run the import as a background job (follow it at /api/v1/jobs/{id}). A failed import
    started again resumes after its last applied batch."""
    actor = require(request, "contacts.add")
    job = contact_import_start(tenant=request.tenant, actor=actor,
                               imp=_import(request, import_id))
    return Status(202, job)


@router.get("/people/imports/{import_id}/errors", response={200: None})
def imports_errors(request: ApiRequest, import_id: UUID) -> Any:
    """The rows that could not be imported: a CSV of the original cells plus `errors`."""
    require(request, "contacts.add")
    imp = _import(request, import_id)
    response = StreamingHttpResponse(error_rows_csv(imp), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-errors-{imp.pk}.csv"'
    return response


@router.post("/people/exports", response={202: JobStarted})
def exports_start(request: ApiRequest, data: ExportIn) -> Any:
    """Export contacts (the list's search and filters, or a selection of ids) as a background
    job; download the file from /people/exports/{job_id}/file once it succeeded."""
    actor = require(request, "contacts.export")
    job = contact_export_start(tenant=request.tenant, actor=actor, format=data.format,
                               search=data.search, filters=data.filters,
                               ids=[str(i) for i in data.ids] if data.ids is not None else None)
    return Status(202, job)


@router.get("/people/exports/{job_id}/file", response={200: None})
def exports_file(request: ApiRequest, job_id: UUID) -> Any:
    actor = require(request, "contacts.export")
    job = export_job_get(tenant=request.tenant, actor=actor, job_id=job_id)
    name = job.result.get("file") if job.result else None
    if not name:
        raise NotFound()
    format = job.result.get("format", "csv")
    content_type, extension = EXPORT_FORMATS.get(format, EXPORT_FORMATS["csv"])
    return FileResponse(default_storage.open(name, "rb"), as_attachment=True,
                        filename=f"contacts.{extension}", content_type=content_type)
