"""Activities: ingest one or a batch (idempotent by source event id), and list them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from ninja import Field, Query, Router, Schema, Status

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import ValidationFailed
from tend.people.selectors.ingestion import activity_list
from tend.people.services.ingestion import MAX_BATCH, activities_ingest, ingest_body_parse
from tend.people.views.hooks import throttled
from tend.ratelimit.services import rate_check, rate_hit

router = Router(tags=["Activities"])

_IDENTIFIER = {
    "type": "object", "required": ["type", "value"],
    "properties": {
        "type": {"type": "string",
                 "enum": ["EMAIL", "PHONE", "TELEGRAM", "WHATSAPP", "AUTH_USER", "EXTERNAL"]},
        "value": {"type": "string"},
        "system": {"type": "string", "description": "Names the system of an EXTERNAL id."},
    },
}
ACTIVITY_IN: dict[str, Any] = {
    "type": "object", "required": ["type"],
    "properties": {
        "identifiers": {"type": "array", "items": _IDENTIFIER,
                        "description": "Who it is about (resolved, or a contact is created)."},
        "contact_id": {"type": "string", "format": "uuid",
                       "description": "Instead of identifiers."},
        "contact": {"type": "object",
                    "description": "Fields of the contact to create if none matches."},
        "type": {"type": "string", "example": "TICKET_PURCHASED"},
        "category": {"type": "string", "example": "EVENTS"},
        "channel": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "metadata": {"type": "object"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "source": {"type": "string", "example": "shop"},
        "source_id": {"type": "string"},
        "source_event_id": {"type": "string",
                            "description": "Makes the item idempotent per source."},
    },
}
INGEST_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [ACTIVITY_IN, {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": ACTIVITY_IN, "minItems": 1,
                  "maxItems": MAX_BATCH}}}],
}}}}}


class ItemError(Schema):
    field: str
    message: str


class ItemResultOut(Schema):
    index: int
    status: str = Field(description="created, duplicate or error")
    activity_id: UUID | None
    contact_id: UUID | None
    contact_created: bool
    conflicts: list[UUID] = Field(
        description="Other contacts the identifiers pointed at (recorded as duplicates).")
    errors: list[ItemError]


class BatchOut(Schema):
    items: list[ItemResultOut]
    counts: dict[str, int]


class ActivityOut(Schema):
    id: UUID
    contact_id: UUID | None
    company_id: UUID | None
    type: str
    category: str
    channel: str
    title: str
    description: str
    metadata: dict[str, Any]
    source: str
    source_id: str
    source_event_id: str | None
    occurred_at: datetime
    processed_at: datetime | None
    actor_label: str
    created_at: datetime


class ActivityFilter(Schema):
    contact: UUID | None = Field(None, description="A contact id.")
    type: str | None = None
    category: str | None = None
    since: datetime | None = Field(None, description="Occurred at or after this time.")


@router.post("/activities", response={200: BatchOut | ItemResultOut, 201: ItemResultOut},
             openapi_extra=INGEST_BODY)
def activities_post(request: ApiRequest):
    """Record one activity, or a batch `{"items": [...]}` of up to 1,000.

    Each item names its person by `identifiers` or `contact_id`. A batch answers 200 with one
    result per item (created, duplicate or error with field messages); a bad item does not
    stop the others (failed items are kept in the ingestion log). One activity answers 201
    (created), 200 (duplicate) or 422 (nothing stored).
    Needs `activities.add` (and `contacts.add` to create contacts). Each principal (API key
    or user) may make `TEND_INGEST_RATE_PER_MINUTE` accepted posts a minute; beyond, 429 with
    `Retry-After` (refused requests are not counted).
    """
    actor = require(request, "activities.add")
    scope, limit = f"ingest:{actor.principal}", settings.TEND_INGEST_RATE_PER_MINUTE
    wait = rate_check(tenant=request.tenant, scope=scope, limit=limit)
    if wait:
        return throttled(request, wait)
    items, is_batch = ingest_body_parse(request.body)
    # One activity is all or nothing: a refused one leaves no log row either.
    results = activities_ingest(tenant=request.tenant, actor=actor, items=items,
                                log_failed=is_batch)
    if is_batch:
        rate_hit(tenant=request.tenant, scope=scope, limit=limit)
        counts = {"created": 0, "duplicate": 0, "error": 0}
        for result in results:
            counts[result.status] += 1
        return {"items": [r.as_dict() for r in results], "counts": counts}
    result = results[0]
    if result.status == "error":
        raise ValidationFailed(fields=result.errors)
    rate_hit(tenant=request.tenant, scope=scope, limit=limit)
    return Status(201 if result.status == "created" else 200, result.as_dict())


@router.get("/activities", response=Page[ActivityOut])
def activities_list(request: ApiRequest, page: Query[PageParams],
                    filters: Query[ActivityFilter]):
    """Activities, most recent first. Needs `activities.view`."""
    actor = require(request, "activities.view")
    rows = activity_list(tenant=request.tenant, actor=actor, contact_id=filters.contact,
                         type=filters.type, category=filters.category, since=filters.since)
    return paginate(rows, page, ordering=("-occurred_at", "-id"))
