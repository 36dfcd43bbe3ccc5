"""The core's background tasks. See `tend.core.background` for the rules tasks follow."""

from __future__ import annotations

from tend.core.background import tenant_task
from tend.core.models import Tenant
from tend.core.services.jobs import job_run


@tenant_task
def run_job(tenant: Tenant, job_id: str) -> str | None:
    """Run one `Job` to its end; returns its final status. Safe to run twice."""
    job = job_run(tenant=tenant, job_id=job_id)
    return job.status if job is not None else None
