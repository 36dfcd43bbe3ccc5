"""The worker: tenant tasks through the database queue, enqueue on commit, and two real worker
processes on PostgreSQL that never run the same task or due tick twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tend.core.background import enqueue_on_commit
from tend.core.models import Job, PeriodicJob, Tag, Tenant
from tend.core.periodic import periodic_jobs
from tend.core.services.jobs import job_create
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.tests.worker_probe import PROBE_SLUG, probe_task
from tend.core.worker import TendWorker

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def db_queue():
    with override_settings(TASKS=DB_TASKS):
        yield


def test_enqueue_on_commit_waits_for_commit_and_worker_runs_task(
    db_queue, tenant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        enqueue_on_commit(probe_task, tenant.pk, 7)
        assert DBTaskResult.objects.count() == 0
    queued = DBTaskResult.objects.get()
    assert (queued.status, queued.args_kwargs) == (
        "READY", {"args": [str(tenant.pk), 7], "kwargs": {}}
    )

    assert TendWorker(worker_id="w-test").run_until_idle() == 1

    queued.refresh_from_db()
    assert (queued.status, queued.return_value, queued.worker_ids) == (
        "SUCCESSFUL", "task-7", ["w-test"]
    )
    with tenant_scope(tenant):
        assert list(Tag.objects.values_list("slug", flat=True)) == ["task-7"]


def test_enqueue_on_commit_drops_task_on_rollback(db_queue, tenant,
                                                  django_capture_on_commit_callbacks):
    with (django_capture_on_commit_callbacks(execute=True) as callbacks,
          pytest.raises(RuntimeError), transaction.atomic()):
        enqueue_on_commit(probe_task, tenant.pk, 8)
        raise RuntimeError("rolled back")
    assert callbacks == []
    assert DBTaskResult.objects.count() == 0


def test_tenant_task_skips_inactive_organization(db_queue, tenant):
    probe_task.enqueue(str(tenant.pk), 9)
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)

    TendWorker(worker_id="w-test").run_until_idle()

    result = DBTaskResult.objects.get()
    assert (result.status, result.return_value) == ("SUCCESSFUL", None)
    with tenant_scope(tenant):
        assert Tag.objects.count() == 0


def test_failed_task_is_recorded_and_worker_goes_on(transactional_db, db_queue, tenant):
    # Transactional: the failing insert must not break a surrounding test transaction.
    probe_task.enqueue(str(tenant.pk), 1)
    probe_task.enqueue(str(tenant.pk), 1)  # the same work twice: the unique slug refuses it
    probe_task.enqueue(str(tenant.pk), 2)

    assert TendWorker(worker_id="w-test").run_until_idle() == 3

    statuses = sorted(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == ["FAILED", "SUCCESSFUL", "SUCCESSFUL"]
    failed = DBTaskResult.objects.get(status=TaskResultStatus.FAILED)
    assert failed.exception_class_path == "django.db.utils.IntegrityError"


def test_worker_command_once_runs_a_job(db_queue, tenant, owner,
                                        django_capture_on_commit_callbacks):
    from tend.core.actors import Actor

    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        job = job_create(tenant=tenant, actor=Actor.system(), kind="core.sample_work",
                         params={"items": 12, "step_ms": 0})
    with tenant_scope(tenant):
        assert Job.objects.get(pk=job.pk).status == "queued"

    call_command("worker", "--once", stdout=open(os.devnull, "w"))  # noqa: SIM115

    with tenant_scope(tenant):
        job.refresh_from_db()
    assert (job.status, job.processed, job.counts) == (
        "succeeded", 12, {"primes": 5, "others": 7}
    )
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    # --once also ticks: every registered periodic job ran, and well.
    assert PeriodicJob.objects.filter(last_status="ok").count() == len(periodic_jobs())
    assert not PeriodicJob.objects.exclude(last_status="ok").exists()


# --- two worker processes on PostgreSQL ---------------------------------------------------------

TASKS_TO_RUN = 80


def _worker_env(tmp_path: Path) -> dict[str, str]:
    db = connection.settings_dict
    url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
           f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="tend.core.tests.worker_settings",
        TEND_DATABASE_URL=url,
        TEND_DB_RLS="1" if settings.TEND_DB_RLS else "0",
        TEND_DATA_DIR=str(tmp_path),
        TEND_SECRET_KEY="worker-test",
        TEND_TICK_SECONDS="0.05",
        TEND_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        PYTHONUNBUFFERED="1",
    )
    return env


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql",
                    reason="needs PostgreSQL: the SQLite test database lives in memory, out of "
                           "reach of other processes, and SQLite has a single writer anyway")
def test_two_worker_processes_never_run_a_task_or_tick_twice(transactional_db, tmp_path,
                                                               make_tenant):
    tenant = make_tenant("Probe", slug=PROBE_SLUG)
    with override_settings(TASKS=DB_TASKS):
        for n in range(TASKS_TO_RUN):
            probe_task.enqueue(str(tenant.pk), n, 25)

    env = _worker_env(tmp_path)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tend.cli", "worker", "--interval", "0.05",
             "--worker-id", f"probe-{i}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in (1, 2)
    ]
    try:
        def settled() -> bool:
            if any(proc.poll() is not None for proc in workers):
                return True  # a worker died: stop waiting, the asserts below say why
            pending = DBTaskResult.objects.filter(
                status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]).count()
            ticks = PeriodicJob.objects.filter(name="probe.tick").values_list(
                "run_count", flat=True).first() or 0
            return pending == 0 and ticks >= 15

        done = _wait_for(settled, timeout=90)
    finally:
        for proc in workers:
            proc.send_signal(signal.SIGTERM)
        outputs = [proc.communicate(timeout=30)[0] for proc in workers]
    assert done, outputs
    assert [proc.returncode for proc in workers] == [0, 0], outputs

    results = list(DBTaskResult.objects.values_list("status", "worker_ids"))
    assert len(results) == TASKS_TO_RUN
    assert {status for status, _ in results} == {"SUCCESSFUL"}
    assert all(len(ids) == 1 for _, ids in results)
    assert {ids[0] for _, ids in results} == {"probe-1", "probe-2"}

    schedule = PeriodicJob.objects.get(name="probe.tick")
    with system_scope():
        task_tags = Tag.objects.filter(tenant=tenant, slug__startswith="task-")
        tick_tags = Tag.objects.filter(tenant=tenant, slug__startswith="tick-")
        assert task_tags.count() == TASKS_TO_RUN
        # Every claim of a due time made exactly one row: none ran twice, none failed.
        assert tick_tags.count() == schedule.run_count
        assert len(set(tick_tags.values_list("description", flat=True))) == 2
    assert schedule.last_error == ""
