"""Ingestion sources (signed webhooks; the secret is shown once) and the ingestion log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from tend.core.api.base import ApiRequest, Page, PageParams, no_idempotency, paginate, require
from tend.people.models import IngestionSource
from tend.people.selectors.ingestion import access_source, ingestion_log_list, source_list
from tend.people.services.sources import (
    source_create,
    source_deactivate,
    source_delete,
    source_rotate_secret,
    source_update,
)

router = Router(tags=["Ingestion"])


class SourceOut(Schema):
    id: UUID
    name: str
    key: str
    url: str = Field(description="Where the source posts, relative to this server.")
    is_active: bool
    last_received_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_url(obj: IngestionSource) -> str:
        return reverse("people:hooks-source", kwargs={"key": obj.key})


class SourceCreated(SourceOut):
    secret: str = Field(description="The signing secret. Shown only in this response.")


class SourceIn(Schema):
    name: str = Field(max_length=100)


class SourcePatch(Schema):
    name: str | None = Field(None, max_length=100)
    is_active: bool | None = None


class LogOut(Schema):
    id: UUID
    source_id: UUID | None
    source_name: str
    source_event_id: str
    status: str
    attempts: int
    error: str
    payload: dict[str, Any]
    contact_id: UUID | None
    activity_id: UUID | None
    processed_at: datetime | None
    created_at: datetime


class LogFilter(Schema):
    status: str | None = Field(None, description="RECEIVED, PROCESSED, DUPLICATE or FAILED")
    source: UUID | None = Field(None, description="An ingestion source id.")


def _with_secret(source: IngestionSource, secret: str) -> IngestionSource:
    source.secret = secret  # type: ignore[attr-defined]
    return source


@router.get("/ingestion-sources", response=Page[SourceOut])
def sources_list(request: ApiRequest, page: Query[PageParams]):
    """The organization's ingestion sources. Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    return paginate(source_list(tenant=request.tenant, actor=actor), page,
                    ordering=("name", "id"))


@router.post("/ingestion-sources", response={201: SourceCreated})
@no_idempotency
def sources_create(request: ApiRequest, payload: SourceIn):
    """Create a source. The response holds the signing secret, never shown again.
    Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    source, secret = source_create(tenant=request.tenant, actor=actor, name=payload.name)
    return Status(201, _with_secret(source, secret))


@router.get("/ingestion-sources/{source_id}", response=SourceOut)
def sources_get(request: ApiRequest, source_id: UUID):
    """One source. Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    return access_source(tenant=request.tenant, actor=actor, source_id=source_id)


@router.patch("/ingestion-sources/{source_id}", response=SourceOut)
def sources_update(request: ApiRequest, source_id: UUID, payload: SourcePatch):
    """Rename, deactivate or reactivate a source. Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    source = access_source(tenant=request.tenant, actor=actor, source_id=source_id)
    return source_update(tenant=request.tenant, actor=actor, source=source,
                         name=payload.name, is_active=payload.is_active)


@router.post("/ingestion-sources/{source_id}/rotate-secret", response=SourceCreated)
@no_idempotency
def sources_rotate(request: ApiRequest, source_id: UUID):
    """Replace the signing secret (the old one stops working at once); the response holds
    the new one. Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    source = access_source(tenant=request.tenant, actor=actor, source_id=source_id)
    source, secret = source_rotate_secret(tenant=request.tenant, actor=actor, source=source)
    return _with_secret(source, secret)


@router.post("/ingestion-sources/{source_id}/deactivate", response=SourceOut)
def sources_deactivate(request: ApiRequest, source_id: UUID):
    """Stop accepting deliveries from a source. Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    source = access_source(tenant=request.tenant, actor=actor, source_id=source_id)
    return source_deactivate(tenant=request.tenant, actor=actor, source=source)


@router.delete("/ingestion-sources/{source_id}", response={204: None})
def sources_delete(request: ApiRequest, source_id: UUID):
    """Delete a source (its log rows stay). Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    source = access_source(tenant=request.tenant, actor=actor, source_id=source_id)
    source_delete(tenant=request.tenant, actor=actor, source=source)
    return Status(204, None)


@router.get("/ingestion-logs", response=Page[LogOut])
def logs_list(request: ApiRequest, page: Query[PageParams], filters: Query[LogFilter]):
    """The ingestion log, newest first. Needs `activities.manage`."""
    actor = require(request, "activities.manage")
    rows = ingestion_log_list(tenant=request.tenant, actor=actor, status=filters.status,
                              source_id=filters.source)
    return paginate(rows, page)
