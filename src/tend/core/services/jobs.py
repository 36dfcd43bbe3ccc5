"""Jobs: long operations people watch (imports, exports, refreshes) and their progress.

Life of a job: `job_create` (queued, enqueues `run_job` after commit) → the worker calls
`job_run`, which moves it to running (`job_start`) and calls its kind's `run`; the kind reports
with `job_progress` and `job_add_error`; `job_run` ends it with `job_finish` or `job_fail`.
`job_cancel` may stop it at any point before it ends: the next `job_progress` call raises
`JobCancelled` so the work stops between steps.

State changes are compare-and-set UPDATEs on the status, so a cancel racing a finish leaves
exactly one of them in place.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, TendError, ValidationFailed
from tend.core.jobkinds import get_job_kind
from tend.core.models import Job, JobStatus, Tenant
from tend.core.services.audit import audit_record
from tend.core.tenancy import tenant_scope

logger = logging.getLogger(__name__)

# The errors list keeps the first ones; `counts["errors"]` keeps counting past the cap.
MAX_JOB_ERRORS = 100
MAX_ERROR_MESSAGE = 500
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobCancelled(Exception):
    """Raised inside a running job's work when someone cancelled the job."""


def _progress_percent(processed: int, total: int | None) -> int:
    if not total:
        return 0
    return max(0, min(100, processed * 100 // total))


def job_create(*, tenant: Tenant, actor: Actor, kind: str, title: str = "",
               params: dict[str, Any] | None = None, total: int | None = None,
               enqueue: bool = True) -> Job:
    """Create a queued job of a registered `kind` and (by default) enqueue its run after commit.

    Call inside `tenant_scope(tenant)`. `params` are checked by the kind's `clean_params`;
    bad params or an unknown kind raise `ValidationFailed`. The actor's permission to start
    this kind of work is the caller's business (the feature service that starts an import
    checks import permissions); the jobs page checks `jobs.manage`.
    """
    job_kind = get_job_kind(kind)
    if job_kind is None:
        raise ValidationFailed(fields={"kind": [_("Unknown kind of job.")]})
    params = dict(params or {})
    if job_kind.clean_params is not None:
        params = job_kind.clean_params(params)
    with transaction.atomic():
        job = Job.objects.create(
            tenant=tenant, kind=kind, title=(title or str(job_kind.label))[:200],
            params=params, total=total, created_by=actor.acting_user,
            updated_by=actor.acting_user,
        )
        audit_record(tenant=tenant, actor=actor, action="job.created", entity_type="job",
                     entity_id=job.pk, changes={"kind": kind})
        if enqueue:
            # Imported here: tasks import this module to run jobs.
            from tend.core.background import enqueue_on_commit
            from tend.core.tasks import run_job

            enqueue_on_commit(run_job, tenant.pk, job.pk, on_enqueued=lambda result: (
                job_attach_task(tenant=tenant, job=job, task_id=str(result.id))
            ))
    return job


def job_attach_task(*, tenant: Tenant, job: Job, task_id: str) -> None:
    """Remember the id of the queued task that runs `job` (for operators tracing a job)."""
    Job.objects.filter(tenant=tenant, pk=job.pk).update(task_id=task_id[:64])
    job.task_id = task_id[:64]


def job_start(*, tenant: Tenant, job: Job) -> bool:
    """Move a queued job to running. Returns False (and changes nothing) when the job is not
    queued any more: it was cancelled, or another run of the same task got to it first."""
    now = timezone.now()
    started = Job.objects.filter(tenant=tenant, pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, updated_at=now
    )
    if started:
        job.status, job.started_at, job.updated_at = JobStatus.RUNNING, now, now
    return bool(started)


def _save_running(tenant: Tenant, job: Job, **fields: Any) -> None:
    """Write `fields` if the job is still running; otherwise raise JobCancelled or Conflict."""
    now = timezone.now()
    fields["updated_at"] = now
    saved = Job.objects.filter(tenant=tenant, pk=job.pk, status=JobStatus.RUNNING).update(
        **fields
    )
    if saved:
        for name, value in fields.items():
            setattr(job, name, value)
        return
    job.refresh_from_db(fields=["status", "finished_at"])
    if job.status == JobStatus.CANCELLED:
        raise JobCancelled(str(job.pk))
    raise Conflict(_("This job is not running."))


def job_progress(*, tenant: Tenant, job: Job, processed: int, total: int | None = None,
                 counts: dict[str, int] | None = None) -> Job:
    """Record how far a running job got: `processed` of `total` items (total may be learned
    late, or left as is with None), and merge `counts` (e.g. created/updated/skipped) into the
    job's counts.

    Also the heartbeat that tells a live job from one whose worker died. Raises `JobCancelled`
    when the job was cancelled, so the caller stops between two steps.
    """
    if processed < 0 or (total is not None and total < 0):
        raise ValidationFailed(fields={"processed": [_("Must not be negative.")]})
    new_total = job.total if total is None else total
    merged = {**(job.counts or {}), **(counts or {})}
    _save_running(tenant, job, processed=processed, total=new_total, counts=merged,
                  progress=_progress_percent(processed, new_total))
    return job


def job_add_error(*, tenant: Tenant, job: Job, message: str, item: Any = None) -> Job:
    """Note one failed item of a running job (`item` names it: a row number, an id).

    The first `MAX_JOB_ERRORS` are kept with their message; `counts["errors"]` counts all.
    """
    entry: dict[str, Any] = {"message": str(message)[:MAX_ERROR_MESSAGE]}
    if item is not None:
        entry["item"] = item if isinstance(item, int | str) else str(item)
    errors = list(job.errors or [])
    if len(errors) < MAX_JOB_ERRORS:
        errors.append(entry)
    counts = {**(job.counts or {})}
    counts["errors"] = int(counts.get("errors", 0)) + 1
    _save_running(tenant, job, errors=errors, counts=counts)
    return job


def job_finish(*, tenant: Tenant, job: Job, result: dict[str, Any] | None = None,
               message: str = "") -> Job:
    """End a running job successfully. A job cancelled meanwhile stays cancelled."""
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": JobStatus.SUCCEEDED, "progress": 100, "finished_at": now, "updated_at": now,
        "result": result or {}, "message": message[:500],
    }
    if job.total is not None:
        fields["processed"] = max(job.processed, job.total)
    if Job.objects.filter(tenant=tenant, pk=job.pk, status=JobStatus.RUNNING).update(**fields):
        for name, value in fields.items():
            setattr(job, name, value)
        audit_record(tenant=tenant, actor=Actor.system(), action="job.succeeded",
                     entity_type="job", entity_id=job.pk, changes={"kind": job.kind})
    else:
        job.refresh_from_db()
    return job


def job_fail(*, tenant: Tenant, job: Job, message: str) -> Job:
    """End a queued or running job as failed, with a message people can read."""
    now = timezone.now()
    fields = {"status": JobStatus.FAILED, "finished_at": now, "updated_at": now,
              "message": str(message)[:500]}
    if Job.objects.filter(tenant=tenant, pk=job.pk, status__in=ACTIVE).update(**fields):
        for name, value in fields.items():
            setattr(job, name, value)
        audit_record(tenant=tenant, actor=Actor.system(), action="job.failed",
                     entity_type="job", entity_id=job.pk,
                     changes={"kind": job.kind, "message": fields["message"]})
    else:
        job.refresh_from_db()
    return job


def job_cancel(*, tenant: Tenant, actor: Actor, job: Job) -> Job:
    """Cancel a queued or running job. A running job stops at its next progress report.

    Allowed with `jobs.manage`, or to the person who started the job. Raises `Conflict` when
    the job already ended.
    """
    own = actor.user is not None and job.created_by_id == actor.user.pk
    if not (actor.has_perm("jobs.manage") or own):
        raise PermissionDenied()
    now = timezone.now()
    with transaction.atomic():
        fields = {"status": JobStatus.CANCELLED, "finished_at": now, "updated_at": now,
                  "updated_by": actor.acting_user}
        if not Job.objects.filter(tenant=tenant, pk=job.pk, status__in=ACTIVE).update(**fields):
            raise Conflict(_("This job has already ended."))
        for name, value in fields.items():
            setattr(job, name, value)
        audit_record(tenant=tenant, actor=actor, action="job.cancelled", entity_type="job",
                     entity_id=job.pk, changes={"kind": job.kind})
    return job


def job_run(*, tenant: Tenant, job_id: str) -> Job | None:
    """Run the job `job_id` of `tenant` to its end. Called by the `run_job` task.

    Idempotent: a job that is not queued (already run, running elsewhere, cancelled) is left
    alone. Unexpected errors fail the job with a generic message and are logged in full.
    """
    job = Job.objects.filter(tenant=tenant, pk=job_id).first()
    if job is None:
        return None
    kind = get_job_kind(job.kind)
    if kind is None:
        return job_fail(tenant=tenant, job=job, message=_("Unknown kind of job."))
    if not job_start(tenant=tenant, job=job):
        return job
    try:
        result = kind.run(tenant=tenant, job=job)
    except JobCancelled:
        job.refresh_from_db()
        return job
    except TendError as exc:
        return job_fail(tenant=tenant, job=job, message=exc.message)
    except Exception:
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        return job_fail(tenant=tenant, job=job,
                        message=_("The job stopped because of an unexpected error."))
    return job_finish(tenant=tenant, job=job, result=result)


def jobs_fail_stale(*, older_than: timedelta = timedelta(hours=1)) -> int:
    """Fail running jobs whose last progress report is older than `older_than`: the worker
    running them died. System code for the periodic tick; call under `system_scope()`.
    Returns how many were failed."""
    cutoff = timezone.now() - older_than
    failed = 0
    stale = Job.objects.filter(status=JobStatus.RUNNING, updated_at__lt=cutoff)
    for job in stale.select_related("tenant"):
        with tenant_scope(job.tenant):
            job_fail(tenant=job.tenant, job=job,
                     message=_("The worker running this job stopped; start it again."))
            failed += int(job.status == JobStatus.FAILED)
    return failed
