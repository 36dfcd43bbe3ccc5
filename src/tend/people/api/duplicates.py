"""Duplicate candidates: list, resolve, and start a detection job."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.people.selectors.duplicates import candidate_get, candidate_list
from tend.people.services.duplicates import duplicate_detection_start, duplicate_resolve

router = Router(tags=["Duplicates"])


class ContactRef(Schema):
    id: UUID
    display_name: str
    primary_email: str
    primary_phone: str
    city: str


class CandidateOut(Schema):
    id: UUID
    contact_a: ContactRef
    contact_b: ContactRef
    match_type: str
    score: int
    matched_fields: list[str]
    resolution: str
    resolved_at: datetime | None
    created_at: datetime


class CandidateFilter(Schema):
    resolution: str | None = Field(
        "PENDING", description="PENDING (default), MERGED, NOT_DUPLICATE, IGNORED or ALL")
    min_score: int | None = Field(None, description="Only candidates scoring at least this.")


class ResolveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(description="NOT_DUPLICATE, IGNORED, or PENDING to reopen")


class JobStarted(Schema):
    id: UUID
    kind: str
    status: str


ORDERING = ("-score", "-id")


@router.get("/duplicates", response=Page[CandidateOut])
def duplicates_list(request: ApiRequest, page: Query[PageParams],
                    filters: Query[CandidateFilter]) -> dict[str, Any]:
    require(request, "contacts.manage")
    qs = candidate_list(tenant=request.tenant, resolution=filters.resolution,
                        min_score=filters.min_score)
    return paginate(qs, page, ordering=ORDERING)


@router.post("/duplicates/{candidate_id}/resolve", response=CandidateOut)
def duplicates_resolve(request: ApiRequest, candidate_id: UUID, payload: ResolveIn) -> Any:
    actor = require(request, "contacts.manage")
    candidate = candidate_get(tenant=request.tenant, candidate_id=candidate_id)
    return duplicate_resolve(tenant=request.tenant, actor=actor, candidate=candidate,
                             resolution=payload.resolution)


@router.post("/duplicates/detect", response={202: JobStarted})
def duplicates_detect_start(request: ApiRequest) -> Any:
    actor = require(request, "contacts.manage")
    job = duplicate_detection_start(tenant=request.tenant, actor=actor)
    return Status(202, job)
