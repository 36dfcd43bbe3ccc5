"""Privacy requests: export one person's data, erase them, and the retention rule."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, require
from tend.core.errors import NotFound
from tend.core.models import Job
from tend.people.selectors.contacts import contact_get
from tend.people.services.privacy import (
    EXPORT_JOB_KIND,
    contact_erase,
    export_file_name,
    privacy_export_build,
    privacy_export_file,
    privacy_export_start,
    retention_dry_run,
    retention_settings,
    retention_settings_update,
)

router = Router(tags=["Privacy"])


class JobStarted(Schema):
    id: UUID
    kind: str
    status: str


class EraseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    confirmation: str = Field(description='The word "ERASE".')


class ErasedOut(Schema):
    id: UUID
    display_name: str
    status: str
    erased_at: Any


class RetentionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    enabled: Any = Field(description="true or false")
    inactive_months: Any = Field(description="1 to 600")


class RetentionOut(Schema):
    enabled: bool
    inactive_months: int
    would_erase: int = Field(description="Contacts the rule selects today (a dry run).")


def _zip(content: bytes, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@router.get("/contacts/{contact_id}/privacy-export")
def privacy_export_download(request: ApiRequest, contact_id: UUID) -> HttpResponse:
    actor = require(request, "privacy.export")
    contact = contact_get(tenant=request.tenant, contact_id=contact_id)
    content = privacy_export_build(tenant=request.tenant, actor=actor, contact=contact)
    return _zip(content, export_file_name(contact))


@router.post("/contacts/{contact_id}/privacy-export", response={202: JobStarted})
def privacy_export_job(request: ApiRequest, contact_id: UUID) -> Any:
    actor = require(request, "privacy.export")
    contact = contact_get(tenant=request.tenant, contact_id=contact_id)
    return Status(202, privacy_export_start(tenant=request.tenant, actor=actor,
                                            contact=contact))


@router.get("/privacy-exports/{job_id}")
def privacy_export_job_download(request: ApiRequest, job_id: UUID) -> HttpResponse:
    actor = require(request, "privacy.export")
    job = Job.objects.filter(tenant=request.tenant, pk=job_id, kind=EXPORT_JOB_KIND).first()
    if job is None:
        raise NotFound()
    content, name = privacy_export_file(tenant=request.tenant, actor=actor, job=job)
    return _zip(content, name)


@router.post("/contacts/{contact_id}/erase", response=ErasedOut)
def privacy_erase(request: ApiRequest, contact_id: UUID, payload: EraseIn) -> Any:
    actor = require(request, "privacy.manage")
    contact = contact_get(tenant=request.tenant, contact_id=contact_id)
    return contact_erase(tenant=request.tenant, actor=actor, contact=contact,
                         confirmation=payload.confirmation)


def _retention_out(request: ApiRequest) -> dict[str, Any]:
    rule = retention_settings(request.tenant)
    return {**rule, "would_erase": retention_dry_run(tenant=request.tenant,
                                                     months=rule["inactive_months"])}


@router.get("/privacy/retention", response=RetentionOut)
def retention_get(request: ApiRequest) -> dict[str, Any]:
    require(request, "privacy.view")
    return _retention_out(request)


@router.put("/privacy/retention", response=RetentionOut)
def retention_put(request: ApiRequest, payload: RetentionIn) -> dict[str, Any]:
    actor = require(request, "privacy.manage")
    retention_settings_update(tenant=request.tenant, actor=actor, enabled=payload.enabled,
                              inactive_months=payload.inactive_months)
    return _retention_out(request)
