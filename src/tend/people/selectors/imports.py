"""Reading contact imports and export jobs (call inside the tenant scope)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Job, JobStatus, Tenant
from tend.people.models import ContactImport


def import_list(*, tenant: Tenant) -> QuerySet[ContactImport]:
    """`tenant`'s imports, newest first."""
    return ContactImport.objects.filter(tenant=tenant).select_related("job", "created_by")


def import_get(*, tenant: Tenant, import_id: Any) -> ContactImport:
    """One import of `tenant`; `NotFound` for unknown or malformed ids and other tenants'."""
    try:
        return import_list(tenant=tenant).get(pk=UUID(str(import_id)))
    except (ValueError, ContactImport.DoesNotExist):
        raise NotFound() from None


def export_job_get(*, tenant: Tenant, actor: Actor, job_id: Any, finished: bool = True) -> Job:
    """An export job of `tenant` (by default only a succeeded one, whose file is ready) that
    `actor` may see: the one who started it, or someone with `jobs.manage`. Others get
    `NotFound` (the file holds personal data)."""
    from tend.people.services.exports import EXPORT_JOB_KIND

    jobs = Job.objects.filter(tenant=tenant, kind=EXPORT_JOB_KIND)
    if finished:
        jobs = jobs.filter(status=JobStatus.SUCCEEDED)
    try:
        job = jobs.get(pk=UUID(str(job_id)))
    except (ValueError, Job.DoesNotExist):
        raise NotFound() from None
    user = actor.acting_user
    if not actor.has_perm("jobs.manage") and (user is None or job.created_by_id != user.pk):
        raise NotFound()
    return job
