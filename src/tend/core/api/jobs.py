"""Background jobs: list, read (to poll progress) and cancel."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from tend.core.api.base import Page, PageParams, paginate, request_actor, require
from tend.core.jobkinds import job_kind_label
from tend.core.models import Job
from tend.core.selectors.jobs import access_job, job_list
from tend.core.services.jobs import job_cancel

router = Router(tags=["Jobs"])


class JobError(Schema):
    message: str
    item: str | int | None = Field(None, description="The row number or id that failed.")


class JobOut(Schema):
    id: UUID
    kind: str
    kind_label: str
    title: str
    status: str = Field(description="queued, running, succeeded, failed or cancelled")
    progress: int = Field(description="Percent done, 0 to 100 (0 while the total is unknown).")
    processed: int
    total: int | None
    counts: dict[str, Any] = Field(description="Per-outcome tallies, e.g. created, skipped, "
                                               "errors.")
    errors: list[JobError] = Field(description="The first 100 problems.")
    result: dict[str, Any]
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    created_by_id: UUID | None

    @staticmethod
    def resolve_kind_label(obj: Job) -> str:
        return str(job_kind_label(obj.kind))


class JobFilter(Schema):
    status: str | None = Field(None, description="queued, running, succeeded, failed or "
                                                 "cancelled")
    kind: str | None = Field(None, max_length=100, description="A job kind, e.g. "
                                                               "core.sample_work")


@router.get("/jobs", response=Page[JobOut])
def jobs_list(request: HttpRequest, page: Query[PageParams], filters: Query[JobFilter]):
    """The organization's jobs, newest first. Needs `jobs.view`."""
    actor = require(request, "jobs.view")
    jobs = job_list(tenant=request.tenant, actor=actor,  # type: ignore[attr-defined]
                    status=filters.status, kind=filters.kind)
    return paginate(jobs, page)


@router.get("/jobs/{job_id}", response=JobOut)
def jobs_get(request: HttpRequest, job_id: UUID):
    """One job, with its progress; poll it to follow a running job. Needs `jobs.view`, or
    having started the job."""
    actor = request_actor(request)
    return access_job(tenant=request.tenant, actor=actor, job_id=job_id)  # type: ignore[attr-defined]


@router.post("/jobs/{job_id}/cancel", response=JobOut)
def jobs_cancel(request: HttpRequest, job_id: UUID):
    """Cancel a queued or running job; a running job stops at its next step. 409 when it has
    already ended. Needs `jobs.manage`, or having started the job."""
    actor = request_actor(request)
    tenant = request.tenant  # type: ignore[attr-defined]
    job = access_job(tenant=tenant, actor=actor, job_id=job_id)
    return job_cancel(tenant=tenant, actor=actor, job=job)
