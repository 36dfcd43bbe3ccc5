"""A personal data export run in the background from the contact's privacy page: start it,
follow its progress (the page polls a fragment), then download the zip.

The job is the person's who started it: others see it only with `jobs.manage`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Job, Tenant
from tend.core.views.base import is_htmx, require_perm
from tend.people.models import Contact
from tend.people.selectors.contacts import contact_get
from tend.people.services.privacy import (
    EXPORT_JOB_KIND,
    privacy_export_file,
    privacy_export_start,
)


def _job(tenant: Tenant, actor: Actor, job_id: UUID) -> Job:
    """The export job `job_id`, if `actor` started it or holds `jobs.manage`; else 404."""
    job = Job.objects.filter(tenant=tenant, pk=job_id, kind=EXPORT_JOB_KIND).first()
    user = actor.acting_user
    mine = job is not None and user is not None and job.created_by_id == user.pk
    if job is None or not (mine or actor.has_perm("jobs.manage")):
        raise NotFound()
    return job


def _subject(tenant: Tenant, job: Job) -> Contact | None:
    try:
        return contact_get(tenant=tenant, contact_id=job.params.get("contact_id"))
    except NotFound:
        return None


@require_POST
@require_perm("privacy.export")
def privacy_export_begin(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    """Start the export job and go to its page."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    contact = contact_get(tenant=tenant, contact_id=contact_id)
    job = privacy_export_start(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                               contact=contact)
    return redirect("people:privacy-export-job", org_slug=org_slug, job_id=job.pk)


@require_perm("privacy.export")
def privacy_export_job(request: HttpRequest, org_slug: str, job_id: UUID) -> HttpResponse:
    """The job's page (or, for htmx polling, its progress fragment)."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    job = _job(tenant, request.actor, job_id)  # type: ignore[attr-defined]
    context: dict[str, Any] = {"job": job, "contact": _subject(tenant, job)}
    template = ("people/partials/privacy_export_job.html" if is_htmx(request)
                else "people/privacy_export_job.html")
    return render(request, template, context)


@require_perm("privacy.export")
def privacy_export_download(request: HttpRequest, org_slug: str, job_id: UUID) -> HttpResponse:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    job = _job(tenant, request.actor, job_id)  # type: ignore[attr-defined]
    content, name = privacy_export_file(tenant=tenant, actor=request.actor,  # type: ignore[attr-defined]
                                        job=job)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


_base = "o/<slug:org_slug>/people"
urlpatterns = [
    path(f"{_base}/contacts/<uuid:contact_id>/privacy/export/start/", privacy_export_begin,
         name="contacts-privacy-export-start"),
    path(f"{_base}/privacy/exports/<uuid:job_id>/", privacy_export_job,
         name="privacy-export-job"),
    path(f"{_base}/privacy/exports/<uuid:job_id>/file/", privacy_export_download,
         name="privacy-export-file"),
]
