"""Background jobs: the list, one job with a live progress bar, cancel, and starting the kinds
that may be started by hand."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import NotFound, PermissionDenied, TendError
from tend.core.jobkinds import get_job_kind, job_count_labels, job_kind_label, job_kinds
from tend.core.models import Job, JobStatus
from tend.core.selectors.jobs import access_job, job_list, startable_job_kinds
from tend.core.services.jobs import job_cancel, job_create
from tend.core.views.base import is_htmx, require_perm

PER_PAGE = 50


def _job_or_404(request: HttpRequest, job_id: Any) -> Job:
    try:
        return access_job(tenant=request.tenant, actor=request.actor,  # type: ignore[attr-defined]
                          job_id=job_id)
    except NotFound:
        raise Http404 from None
    except PermissionDenied:
        raise DjangoPermissionDenied from None


def _detail_context(request: HttpRequest, job: Job) -> dict[str, Any]:
    actor = request.actor  # type: ignore[attr-defined]
    own = actor.user is not None and job.created_by_id == actor.user.pk
    return {
        "job": job,
        "kind_label": job_kind_label(job.kind),
        "show_kind": job.title != str(job_kind_label(job.kind)),
        "counts": job_count_labels(job.kind, job.counts or {}),
        "more_errors": max(0, int((job.counts or {}).get("errors", 0)) - len(job.errors or [])),
        "can_cancel": not job.is_finished and (own or actor.has_perm("jobs.manage")),
    }


@require_perm("jobs.view")
def jobs_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor = request.actor  # type: ignore[attr-defined]
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    if status not in JobStatus.values:
        status = ""
    jobs = job_list(tenant=tenant, actor=actor, status=status or None, kind=kind or None)
    page = Paginator(jobs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "core/jobs.html", {
        "page": page,
        "rows": [{"job": j, "kind_label": job_kind_label(j.kind),
                  "show_kind": j.title != str(job_kind_label(j.kind))}
                 for j in page.object_list],
        "filters": {"status": status, "kind": kind},
        "statuses": JobStatus.choices,
        "kinds": [(k.key, k.label) for k in job_kinds()],
        "startable": startable_job_kinds(actor=actor),
    })


@require_perm()
def job_detail(request: HttpRequest, org_slug: str, job_id: str) -> HttpResponse:
    job = _job_or_404(request, job_id)
    return render(request, "core/job_detail.html", _detail_context(request, job))


@require_perm()
def job_progress(request: HttpRequest, org_slug: str, job_id: str) -> HttpResponse:
    """The live part of the job page; polled by htmx every second until the job ends."""
    job = _job_or_404(request, job_id)
    return render(request, "core/partials/job_progress.html", _detail_context(request, job))


@require_POST
@require_perm()
def job_cancel_view(request: HttpRequest, org_slug: str, job_id: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    job = _job_or_404(request, job_id)
    try:
        job_cancel(tenant=tenant, actor=request.actor, job=job)  # type: ignore[attr-defined]
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    except TendError as exc:
        job.refresh_from_db()
        if is_htmx(request):
            context = {**_detail_context(request, job), "error": exc.message}
            return render(request, "core/partials/job_progress.html", context, status=409)
        messages.error(request, exc.message)
        return redirect("core:jobs-detail", org_slug=tenant.slug, job_id=job.pk)
    if is_htmx(request):
        return render(request, "core/partials/job_progress.html", _detail_context(request, job))
    messages.success(request, _("The job was cancelled."))
    return redirect("core:jobs-detail", org_slug=tenant.slug, job_id=job.pk)


@require_POST
@require_perm("jobs.manage")
def job_start_view(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    actor = request.actor  # type: ignore[attr-defined]
    kind = get_job_kind(request.POST.get("kind", ""))
    if kind is None or not kind.startable:
        messages.error(request, _("This kind of job cannot be started here."))
        return redirect("core:jobs-list", org_slug=tenant.slug)
    try:
        job = job_create(tenant=tenant, actor=actor, kind=kind.key,
                         params=dict(kind.default_params))
    except TendError as exc:
        messages.error(request, exc.message)
        return redirect("core:jobs-list", org_slug=tenant.slug)
    return redirect("core:jobs-detail", org_slug=tenant.slug, job_id=job.pk)


urlpatterns = [
    path("o/<slug:org_slug>/settings/jobs/", jobs_list, name="jobs-list"),
    path("o/<slug:org_slug>/settings/jobs/start/", job_start_view, name="jobs-start"),
    path("o/<slug:org_slug>/settings/jobs/<uuid:job_id>/", job_detail, name="jobs-detail"),
    path("o/<slug:org_slug>/settings/jobs/<uuid:job_id>/progress/", job_progress,
         name="jobs-progress"),
    path("o/<slug:org_slug>/settings/jobs/<uuid:job_id>/cancel/", job_cancel_view,
         name="jobs-cancel"),
]
