"""The jobs pages: list, detail with live progress, cancel, start; permissions and isolation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tend.core.actors import Actor
from tend.core.models import Job, Membership, Role
from tend.core.services.jobs import (
    MAX_JOB_ERRORS,
    job_add_error,
    job_create,
    job_progress,
    job_start,
)
from tend.core.tenancy import tenant_scope


@pytest.fixture
def owner_client(client, owner, tenant):
    client.force_login(owner)
    return client


def _job(tenant, **kw) -> Job:
    with tenant_scope(tenant):
        return job_create(tenant=tenant, actor=Actor.system(), kind="core.sample_work",
                          params={"items": 10, "step_ms": 0}, enqueue=False, **kw)


def _url(name, tenant, **kw):
    return reverse(f"core:{name}", kwargs={"org_slug": tenant.slug, **kw})


def test_list_shows_jobs_with_constant_queries(owner_client, tenant,
                                               django_assert_max_num_queries):
    first = _job(tenant, title="First import")
    response = owner_client.get(_url("jobs-list", tenant))
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="job-{first.pk}"' in body
    assert "First import" in body
    assert 'id="start-coresample_work"' in body

    with django_assert_max_num_queries(40) as few:
        owner_client.get(_url("jobs-list", tenant))
    for n in range(10):
        _job(tenant, title=f"Job {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(_url("jobs-list", tenant))
    assert response.content.decode().count('data-status="queued"') == 11


def test_list_filters_by_status(owner_client, tenant):
    queued = _job(tenant)
    running = _job(tenant)
    with tenant_scope(tenant):
        job_start(tenant=tenant, job=running)
    body = owner_client.get(_url("jobs-list", tenant), {"status": "running"}).content.decode()
    assert f'id="job-{running.pk}"' in body
    assert f'id="job-{queued.pk}"' not in body


def test_detail_polls_while_running_and_stops_when_finished(owner_client, tenant):
    job = _job(tenant)
    with tenant_scope(tenant):
        job_start(tenant=tenant, job=job)
        job_progress(tenant=tenant, job=job, processed=4, total=10, counts={"primes": 2})
    progress_url = _url("jobs-progress", tenant, job_id=job.pk)

    page = owner_client.get(_url("jobs-detail", tenant, job_id=job.pk)).content.decode()
    assert f'hx-get="{progress_url}" hx-trigger="every 1s"' in page
    assert 'value="40"' in page
    assert "4 of 10 done (40%)" in page
    assert '<dt class="stat-label">Prime numbers</dt>' in page

    with tenant_scope(tenant):
        Job.objects.filter(pk=job.pk).update(status="succeeded", progress=100)
    partial = owner_client.get(progress_url)
    assert partial.status_code == 200
    assert "hx-trigger" not in partial.content.decode()
    assert 'data-status="succeeded"' in partial.content.decode()


def test_detail_lists_problems_and_says_how_many_are_not_listed(owner_client, tenant):
    job = _job(tenant)
    with tenant_scope(tenant):
        job_start(tenant=tenant, job=job)
        for row in range(MAX_JOB_ERRORS + 3):
            job_add_error(tenant=tenant, job=job, message=f"row {row} has no email", item=row)
    page = owner_client.get(_url("jobs-detail", tenant, job_id=job.pk)).content.decode()
    assert page.count("has no email</li>") == MAX_JOB_ERRORS
    assert "3 more problems are not listed." in page
    assert '<dt class="stat-label">Problems</dt><dd class="stat-value" style="margin:0">103</dd>' \
        in page


def test_cancel_by_htmx_returns_the_stopped_partial(owner_client, tenant):
    job = _job(tenant)
    response = owner_client.post(_url("jobs-cancel", tenant, job_id=job.pk),
                                 headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'data-status="cancelled"' in response.content.decode()
    again = owner_client.post(_url("jobs-cancel", tenant, job_id=job.pk),
                              headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert "This job has already ended." in again.content.decode()


def test_start_creates_a_sample_job(owner_client, tenant):
    response = owner_client.post(_url("jobs-start", tenant), {"kind": "core.sample_work"})
    with tenant_scope(tenant):
        job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _url("jobs-detail", tenant, job_id=job.pk)
    assert (job.kind, job.params) == ("core.sample_work", {"items": 300, "step_ms": 25})


def test_start_refuses_unknown_kind(owner_client, tenant):
    response = owner_client.post(_url("jobs-start", tenant), {"kind": "core.nope"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert Job.objects.count() == 0


def test_viewer_cannot_see_jobs_and_other_tenants_jobs_are_404(client, tenant, make_user,
                                                               make_tenant):
    viewer = make_user()
    with tenant_scope(tenant):
        Membership.objects.create(tenant=tenant, user=viewer, role=Role.objects.get(key="viewer"))
    client.force_login(viewer)
    job = _job(tenant)
    assert client.get(_url("jobs-list", tenant)).status_code == 403
    assert client.get(_url("jobs-detail", tenant, job_id=job.pk)).status_code == 403
    assert client.post(_url("jobs-cancel", tenant, job_id=job.pk)).status_code == 403
    assert client.post(_url("jobs-start", tenant), {"kind": "core.sample_work"}).status_code == 403

    other = make_tenant("Other Org", slug="other-org", owner=viewer)
    foreign = _job(other)
    assert client.get(_url("jobs-detail", tenant, job_id=foreign.pk)).status_code == 404
    with tenant_scope(tenant):
        assert Job.objects.get(pk=job.pk).status == "queued"
