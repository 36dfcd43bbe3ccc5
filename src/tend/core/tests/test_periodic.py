"""The periodic tick: registry, claiming, schedule, outcomes; and the core's housekeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tend.core import periodic
from tend.core.models import AuditLog, Membership, PeriodicJob, Role
from tend.core.periodic import register_periodic, schedule_sync, tick
from tend.core.services.housekeeping import (
    memberships_end_expired,
    task_results_fail_lost,
    task_results_prune,
)
from tend.core.tenancy import system_scope, tenant_scope

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def registry(monkeypatch):
    """An empty registry for the test; the core's own jobs come back afterwards."""
    monkeypatch.setattr(periodic, "_registry", {})
    return periodic._registry


def test_core_jobs_are_registered():
    assert [p.name for p in periodic.periodic_jobs() if p.name.startswith("core.")] == [
        "core.end_expired_memberships",
        "core.fail_stale_jobs",
        "core.prune_idempotency_keys",
        "core.prune_task_results",
    ]


def test_register_rejects_bad_definitions(registry):
    with pytest.raises(ValueError, match="positive"):
        register_periodic("x", 0, lambda due: None)
    with pytest.raises(ValueError, match="name"):
        register_periodic("", 10, lambda due: None)
    assert registry == {}


def test_tick_runs_due_job_once_per_due_time(db, registry):
    calls = []
    register_periodic("test.every_minute", 60, calls.append)

    first = tick("w1", now=T0)
    again = tick("w2", now=T0 + timedelta(seconds=59))
    later = tick("w2", now=T0 + timedelta(seconds=60))

    assert [(r.name, r.due_at, r.ok) for r in first] == [("test.every_minute", T0, True)]
    assert again == []
    assert [r.due_at for r in later] == [T0 + timedelta(seconds=60)]
    assert calls == [T0, T0 + timedelta(seconds=60)]
    row = PeriodicJob.objects.get(name="test.every_minute")
    assert (row.next_run_at, row.run_count, row.last_status, row.claimed_by) == (
        T0 + timedelta(seconds=120), 2, "ok", "w2"
    )


def test_tick_after_downtime_runs_once_and_resumes_from_now(db, registry):
    calls = []
    register_periodic("test.hourly", 3600, calls.append)
    tick("w1", now=T0)

    resumed = T0 + timedelta(hours=5, minutes=10)
    runs = tick("w1", now=resumed)

    assert [r.due_at for r in runs] == [T0 + timedelta(hours=1)]
    assert len(calls) == 2
    assert PeriodicJob.objects.get(name="test.hourly").next_run_at == resumed + timedelta(hours=1)


def test_failing_job_is_recorded_and_others_still_run(db, registry):
    def broken(due_at):
        raise RuntimeError("disk full")

    ran = []
    register_periodic("test.broken", 60, broken)
    register_periodic("test.fine", 60, ran.append)

    runs = tick("w1", now=T0)

    assert sorted((r.name, r.ok) for r in runs) == [("test.broken", False), ("test.fine", True)]
    assert ran == [T0]
    row = PeriodicJob.objects.get(name="test.broken")
    assert row.last_status == "failed"
    assert "RuntimeError: disk full" in row.last_error
    assert row.next_run_at == T0 + timedelta(seconds=60)


def test_unregistered_rows_are_left_alone(db, registry):
    PeriodicJob.objects.create(name="gone.module", next_run_at=T0 - timedelta(days=1))
    assert tick("w1", now=T0) == []
    assert PeriodicJob.objects.get(name="gone.module").run_count == 0


def test_schedule_sync_pulls_in_far_schedules(db, registry):
    register_periodic("test.shortened", 60, lambda due: None)
    PeriodicJob.objects.create(name="test.shortened", next_run_at=T0 + timedelta(days=1))
    schedule_sync(T0)
    assert PeriodicJob.objects.get(name="test.shortened").next_run_at == T0 + timedelta(
        seconds=60
    )


def test_a_claimed_due_time_is_not_claimed_again(db, registry):
    # Two workers that read the same due row: the second finds it already advanced.
    register_periodic("test.once", 60, lambda due: None)
    schedule_sync(T0)
    with system_scope():
        first = periodic._claim("w1", T0, set())
        second = periodic._claim("w2", T0, set())
    assert first is not None and first[1] == T0
    assert second is None


def _finished_result(days_ago: int, status: str) -> DBTaskResult:
    finished = timezone.now() - timedelta(days=days_ago)
    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}}, task_path="tend.core.tasks.run_job",
        backend_name="default", run_after=finished, status=status,
        finished_at=finished if status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
        else None,
    )


def test_task_results_prune_deletes_only_old_finished(db):
    old_ok = _finished_result(20, TaskResultStatus.SUCCESSFUL)
    old_failed = _finished_result(20, TaskResultStatus.FAILED)
    recent = _finished_result(2, TaskResultStatus.SUCCESSFUL)
    waiting = _finished_result(30, TaskResultStatus.READY)

    assert task_results_prune(older_than=timedelta(days=14)) == 2
    remaining = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, waiting.pk}
    assert not {old_ok.pk, old_failed.pk} & remaining


def test_task_results_fail_lost_marks_only_long_running(db):
    stuck = _finished_result(3, TaskResultStatus.RUNNING)
    busy = _finished_result(0, TaskResultStatus.RUNNING)
    DBTaskResult.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - timedelta(days=3))
    DBTaskResult.objects.filter(pk=busy.pk).update(started_at=timezone.now())

    assert task_results_fail_lost(older_than=timedelta(days=1)) == 1
    stuck.refresh_from_db()
    assert (stuck.status, stuck.exception_class_path) == (
        "FAILED", "tend.core.services.housekeeping.WorkerLost"
    )
    assert DBTaskResult.objects.get(pk=busy.pk).status == "RUNNING"


def test_memberships_end_expired(tenant, make_user):
    now = timezone.now()
    with tenant_scope(tenant):
        agent = Role.objects.get(key="agent")
        expired = Membership.objects.create(tenant=tenant, user=make_user(), role=agent,
                                            expires_at=now - timedelta(minutes=1))
        current = Membership.objects.create(tenant=tenant, user=make_user(), role=agent,
                                            expires_at=now + timedelta(days=1))
    with system_scope():
        assert memberships_end_expired(now=now) == 1
        assert memberships_end_expired(now=now) == 0
    with tenant_scope(tenant):
        assert dict(Membership.objects.filter(pk__in=[expired.pk, current.pk])
                    .values_list("pk", "is_active")) == {expired.pk: False, current.pk: True}
        entry = AuditLog.objects.get(action="member.expired")
        assert (entry.actor_type, entry.entity_id) == ("system", str(expired.pk))


def test_core_tick_runs_housekeeping(db):
    runs = tick("w1")
    # Other modules register periodic jobs too; the core's own must all have run, and well.
    assert all(r.ok for r in runs)
    assert sorted(r.name for r in runs if r.name.startswith("core.")) == [
        "core.end_expired_memberships",
        "core.fail_stale_jobs",
        "core.prune_idempotency_keys",
        "core.prune_task_results",
    ]
