"""Reading jobs: lists and single jobs, with the reader's permission checked."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import NotFound, PermissionDenied, ValidationFailed
from tend.core.jobkinds import JobKind, job_kinds
from tend.core.models import Job, JobStatus, Tenant


def _check_view(actor: Actor) -> None:
    if not actor.has_perm("jobs.view"):
        raise PermissionDenied()


def job_list(*, tenant: Tenant, actor: Actor, status: str | None = None,
             kind: str | None = None) -> QuerySet[Job]:
    """The organization's jobs, newest first, optionally of one status and/or kind.

    Needs `jobs.view`. Call inside `tenant_scope(tenant)`. An unknown status is a 422.
    """
    _check_view(actor)
    jobs = Job.objects.filter(tenant=tenant).select_related("created_by")
    if status:
        if status not in JobStatus.values:
            raise ValidationFailed(fields={"status": [_("Unknown status.")]})
        jobs = jobs.filter(status=status)
    if kind:
        jobs = jobs.filter(kind=kind)
    return jobs.order_by("-created_at", "-id")


def access_job(*, tenant: Tenant, actor: Actor, job_id: Any) -> Job:
    """The job `job_id` of `tenant` if `actor` may see it; raises NotFound or PermissionDenied.

    Anyone may see a job they started; other jobs need `jobs.view`.
    """
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound() from None
    job = Job.objects.filter(tenant=tenant, pk=pk).select_related("created_by").first()
    if job is None:
        raise NotFound()
    own = actor.user is not None and job.created_by_id == actor.user.pk
    if not (own or actor.has_perm("jobs.view")):
        raise PermissionDenied()
    return job


def job_active_count(*, tenant: Tenant) -> int:
    """How many jobs are queued or running (for the dashboard and the jobs page)."""
    return Job.objects.filter(
        tenant=tenant, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
    ).count()


def startable_job_kinds(*, actor: Actor) -> list[JobKind]:
    """Kinds `actor` may start by hand from the jobs page (needs `jobs.manage`)."""
    if not actor.has_perm("jobs.manage"):
        return []
    return [k for k in job_kinds() if k.startable]
