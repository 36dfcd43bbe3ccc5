"""The /jobs endpoints: list with filters and cursor, get, cancel; permissions."""

from __future__ import annotations

import pytest
from django.test import Client

from tend.core.actors import Actor
from tend.core.models import Job
from tend.core.services.jobs import job_add_error, job_create, job_progress, job_start
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, bearer, make_key, signed_in


def _job(tenant, **kw) -> Job:
    with tenant_scope(tenant):
        return job_create(tenant=tenant, actor=Actor.system(), kind="core.sample_work",
                          params={"items": 10, "step_ms": 0}, enqueue=False, **kw)


def _get_with_key(secret: str, url: str):
    return Client().get(url, headers=bearer(secret))


@pytest.fixture
def api(owner, tenant):
    return signed_in(owner, tenant)


def test_get_returns_progress_counts_and_errors(api, tenant):
    job = _job(tenant, title="Import contacts.csv")
    with tenant_scope(tenant):
        job_start(tenant=tenant, job=job)
        job_progress(tenant=tenant, job=job, processed=3, total=4, counts={"created": 2})
        job_add_error(tenant=tenant, job=job, message="Row 3: no email", item=3)

    response = api.get(f"/api/v1/jobs/{job.pk}")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("kind", "kind_label", "title", "status", "progress",
                                 "processed", "total", "counts", "errors", "message")} == {
        "kind": "core.sample_work", "kind_label": "Sample work",
        "title": "Import contacts.csv", "status": "running", "progress": 75,
        "processed": 3, "total": 4, "counts": {"created": 2, "errors": 1},
        "errors": [{"message": "Row 3: no email", "item": 3}], "message": "",
    }
    assert body["started_at"] is not None and body["finished_at"] is None


def test_list_filters_and_pages(api, tenant):
    jobs = [_job(tenant, title=f"job {n}") for n in range(3)]
    with tenant_scope(tenant):
        job_start(tenant=tenant, job=jobs[0])

    first = api.get("/api/v1/jobs", {"limit": 2}).json()
    second = api.get("/api/v1/jobs", {"limit": 2, "cursor": first["next_cursor"]}).json()
    running = api.get("/api/v1/jobs", {"status": "running"}).json()

    assert [j["title"] for j in first["items"]] == ["job 2", "job 1"]
    assert [j["title"] for j in second["items"]] == ["job 0"]
    assert second["next_cursor"] is None
    assert [j["id"] for j in running["items"]] == [str(jobs[0].pk)]


def test_list_rejects_unknown_status_with_field_error(api):
    response = api.get("/api/v1/jobs", {"status": "exploded"})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == [
        {"field": "status", "loc": ["status"], "message": "Unknown status."}
    ]


def test_cancel_then_cancel_again_is_conflict(api, tenant):
    job = _job(tenant)
    first = api.post(f"/api/v1/jobs/{job.pk}/cancel")
    again = api.post(f"/api/v1/jobs/{job.pk}/cancel")
    assert (first.status_code, first.json()["status"]) == (200, "cancelled")
    assert again.status_code == 409
    assert again.json()["detail"] == "This job has already ended."


def test_key_without_jobs_permissions_is_refused(tenant, owner):
    job = _job(tenant)
    _, secret = make_key(tenant, owner, ["organization.view"])
    assert _get_with_key(secret, "/api/v1/jobs").status_code == 403
    assert _get_with_key(secret, f"/api/v1/jobs/{job.pk}").status_code == 403
    _, viewer_key = make_key(tenant, owner, ["jobs.view"])
    assert _get_with_key(viewer_key, f"/api/v1/jobs/{job.pk}").status_code == 200


def test_manager_without_jobs_manage_cannot_cancel_others_job(tenant, make_user):
    job = _job(tenant)
    manager = make_user("manager@example.com")
    add_member(tenant, manager, "manager")
    response = signed_in(manager, tenant).post(f"/api/v1/jobs/{job.pk}/cancel")
    assert response.status_code == 403
    with tenant_scope(tenant):
        assert Job.objects.get(pk=job.pk).status == "queued"
