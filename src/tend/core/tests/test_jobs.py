"""Job services and selectors: lifecycle, progress, errors, cancel, permissions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core import jobkinds
from tend.core.actors import Actor
from tend.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tend.core.jobkinds import JobKind
from tend.core.models import AuditLog, Job, JobStatus
from tend.core.selectors.access import actor_for_membership
from tend.core.selectors.jobs import access_job, job_list, startable_job_kinds
from tend.core.services.jobs import (
    MAX_JOB_ERRORS,
    JobCancelled,
    job_add_error,
    job_cancel,
    job_create,
    job_fail,
    job_finish,
    job_progress,
    job_run,
    job_start,
    jobs_fail_stale,
)
from tend.core.tenancy import system_scope, tenant_scope


@pytest.fixture
def owner_actor(scoped, owner):
    from tend.core.models import Membership

    return actor_for_membership(Membership.objects.get(user=owner))


def _member_actor(tenant, make_user, role_key):
    from tend.core.models import Membership, Role

    user = make_user()
    membership = Membership.objects.create(
        tenant=tenant, user=user, role=Role.objects.get(key=role_key)
    )
    return actor_for_membership(membership)


def _queued(tenant, actor, **kw):
    return job_create(tenant=tenant, actor=actor, kind="core.sample_work",
                      params={"items": 10, "step_ms": 0}, enqueue=False, **kw)


def test_job_create_records_queued_job_and_audit(scoped, owner_actor, owner):
    job = _queued(scoped, owner_actor)

    job.refresh_from_db()
    assert (job.kind, job.status, job.title, job.params) == (
        "core.sample_work", "queued", "Sample work", {"items": 10, "step_ms": 0}
    )
    assert job.created_by == owner
    entry = AuditLog.objects.filter(action="job.created").get()
    assert (entry.entity_id, entry.changes) == (str(job.pk), {"kind": "core.sample_work"})


def test_job_create_rejects_unknown_kind_and_bad_params(scoped, owner_actor):
    with pytest.raises(ValidationFailed) as unknown:
        job_create(tenant=scoped, actor=owner_actor, kind="nope", enqueue=False)
    assert unknown.value.fields == {"kind": ["Unknown kind of job."]}

    with pytest.raises(ValidationFailed) as bad:
        job_create(tenant=scoped, actor=owner_actor, kind="core.sample_work",
                   params={"items": 0, "step_ms": "x", "extra": 1}, enqueue=False)
    assert bad.value.fields == {
        "items": ["Enter a number from 1 to 100000."],
        "step_ms": ["Enter a whole number."],
        "extra": ["Unknown parameter."],
    }
    assert Job.objects.count() == 0


def test_job_create_runs_the_job_after_commit(scoped, owner_actor,
                                              django_capture_on_commit_callbacks):
    # Tests use the immediate backend: the enqueued task runs at once, after commit.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = job_create(tenant=scoped, actor=owner_actor, kind="core.sample_work",
                         params={"items": 30, "step_ms": 0})
        assert Job.objects.get(pk=job.pk).status == "queued"
    assert len(callbacks) == 1

    job.refresh_from_db()
    assert (job.status, job.processed, job.total, job.progress) == ("succeeded", 30, 30, 100)
    assert job.counts == {"primes": 10, "others": 20}
    assert job.result == {"primes": 10, "largest_checked": 30}
    assert job.task_id != ""
    assert job.started_at is not None and job.finished_at >= job.started_at


def test_job_progress_computes_percent_and_merges_counts(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    assert job_start(tenant=scoped, job=job) is True

    job_progress(tenant=scoped, job=job, processed=1, total=3, counts={"created": 1})
    job_progress(tenant=scoped, job=job, processed=2, counts={"skipped": 1})

    job.refresh_from_db()
    assert (job.processed, job.total, job.progress) == (2, 3, 66)
    assert job.counts == {"created": 1, "skipped": 1}


def test_job_progress_without_total_stays_at_zero_percent(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_start(tenant=scoped, job=job)
    job_progress(tenant=scoped, job=job, processed=500)
    job.refresh_from_db()
    assert (job.processed, job.total, job.progress) == (500, None, 0)


def test_job_progress_rejects_negative_numbers(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_start(tenant=scoped, job=job)
    with pytest.raises(ValidationFailed):
        job_progress(tenant=scoped, job=job, processed=-1)


def test_job_start_only_once(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    again = Job.objects.get(pk=job.pk)
    assert job_start(tenant=scoped, job=job) is True
    assert job_start(tenant=scoped, job=again) is False


def test_job_add_error_keeps_first_hundred_and_counts_all(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_start(tenant=scoped, job=job)
    for row in range(1, MAX_JOB_ERRORS + 6):
        job_add_error(tenant=scoped, job=job, message=f"bad row {row}", item=row)
    job_progress(tenant=scoped, job=job, processed=105, counts={"created": 0})

    job.refresh_from_db()
    assert len(job.errors) == MAX_JOB_ERRORS
    assert job.errors[0] == {"message": "bad row 1", "item": 1}
    assert job.errors[-1] == {"message": "bad row 100", "item": 100}
    assert job.counts == {"errors": 105, "created": 0}


def test_cancel_stops_running_job_at_next_progress(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_start(tenant=scoped, job=job)
    job_cancel(tenant=scoped, actor=owner_actor, job=Job.objects.get(pk=job.pk))

    with pytest.raises(JobCancelled):
        job_progress(tenant=scoped, job=job, processed=1)
    job_finish(tenant=scoped, job=job)
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert AuditLog.objects.filter(action="job.cancelled").count() == 1
    assert AuditLog.objects.filter(action="job.succeeded").count() == 0


def test_cancel_of_ended_job_is_conflict(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_start(tenant=scoped, job=job)
    job_finish(tenant=scoped, job=job, result={"n": 1})
    with pytest.raises(Conflict):
        job_cancel(tenant=scoped, actor=owner_actor, job=job)
    job.refresh_from_db()
    assert (job.status, job.result) == ("succeeded", {"n": 1})


def test_cancel_needs_manage_or_ownership(scoped, owner_actor, make_user):
    job = _queued(scoped, owner_actor)
    agent = _member_actor(scoped, make_user, "agent")
    with pytest.raises(PermissionDenied):
        job_cancel(tenant=scoped, actor=agent, job=job)
    own = _queued(scoped, agent)
    job_cancel(tenant=scoped, actor=agent, job=own)
    assert Job.objects.get(pk=own.pk).status == "cancelled"
    assert Job.objects.get(pk=job.pk).status == "queued"


def test_job_fail_records_message(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_fail(tenant=scoped, job=job, message="File is not UTF-8")
    job.refresh_from_db()
    assert (job.status, job.message) == ("failed", "File is not UTF-8")
    assert job.finished_at is not None


def _explode(*, tenant, job):
    raise RuntimeError("secret internals")


def _refuse(*, tenant, job):
    raise ValidationFailed("The file has no header row.")


def test_job_run_turns_errors_into_failed_jobs(scoped, owner_actor, monkeypatch):
    monkeypatch.setitem(jobkinds._kinds, "test.explode", JobKind("test.explode", "X", run=_explode))
    monkeypatch.setitem(jobkinds._kinds, "test.refuse", JobKind("test.refuse", "R", run=_refuse))
    exploding = job_create(tenant=scoped, actor=owner_actor, kind="test.explode", enqueue=False)
    refusing = job_create(tenant=scoped, actor=owner_actor, kind="test.refuse", enqueue=False)

    job_run(tenant=scoped, job_id=str(exploding.pk))
    job_run(tenant=scoped, job_id=str(refusing.pk))

    exploding.refresh_from_db()
    refusing.refresh_from_db()
    assert (exploding.status, exploding.message) == (
        "failed", "The job stopped because of an unexpected error."
    )
    assert (refusing.status, refusing.message) == ("failed", "The file has no header row.")


def test_job_run_is_idempotent(scoped, owner_actor):
    job = _queued(scoped, owner_actor)
    job_run(tenant=scoped, job_id=str(job.pk))
    first = Job.objects.get(pk=job.pk)
    job_run(tenant=scoped, job_id=str(job.pk))
    second = Job.objects.get(pk=job.pk)
    assert (first.status, first.finished_at) == ("succeeded", second.finished_at)
    assert AuditLog.objects.filter(action="job.succeeded").count() == 1


def test_jobs_fail_stale_fails_only_silent_running_jobs(scoped, owner_actor):
    silent = _queued(scoped, owner_actor)
    lively = _queued(scoped, owner_actor)
    waiting = _queued(scoped, owner_actor)
    job_start(tenant=scoped, job=silent)
    job_start(tenant=scoped, job=lively)
    Job.objects.filter(pk=silent.pk).update(updated_at=timezone.now() - timedelta(hours=2))
    Job.objects.filter(pk=waiting.pk).update(updated_at=timezone.now() - timedelta(hours=2))

    with system_scope():
        assert jobs_fail_stale(older_than=timedelta(hours=1)) == 1
    statuses = dict(Job.objects.values_list("pk", "status"))
    assert statuses == {silent.pk: "failed", lively.pk: "running", waiting.pk: "queued"}


def test_job_list_and_access_check_permissions(scoped, owner_actor, make_user, make_tenant):
    mine = _queued(scoped, owner_actor)
    other_tenant = make_tenant("Elsewhere", slug="elsewhere")
    with tenant_scope(other_tenant):
        foreign = job_create(tenant=other_tenant, actor=Actor.system(), kind="core.sample_work",
                             enqueue=False)
    viewer = _member_actor(scoped, make_user, "viewer")

    assert [j.pk for j in job_list(tenant=scoped, actor=owner_actor)] == [mine.pk]
    assert list(job_list(tenant=scoped, actor=owner_actor, status="failed")) == []
    with pytest.raises(ValidationFailed):
        job_list(tenant=scoped, actor=owner_actor, status="bogus")
    with pytest.raises(PermissionDenied):
        job_list(tenant=scoped, actor=viewer)
    assert access_job(tenant=scoped, actor=owner_actor, job_id=str(mine.pk)) == mine
    with pytest.raises(NotFound):
        access_job(tenant=scoped, actor=owner_actor, job_id=str(foreign.pk))
    with pytest.raises(NotFound):
        access_job(tenant=scoped, actor=owner_actor, job_id="not-a-uuid")
    with pytest.raises(PermissionDenied):
        access_job(tenant=scoped, actor=viewer, job_id=str(mine.pk))
    assert [k.key for k in startable_job_kinds(actor=owner_actor)] == ["core.sample_work"]
    assert startable_job_kinds(actor=viewer) == []


def test_job_status_choices_cover_ended_states():
    ended = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
    assert Job(status=JobStatus.CANCELLED).is_finished is True
    assert {s for s in JobStatus if Job(status=s).is_finished} == ended
