"""Isolation entries for contact import and export."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tend.core.models import Job, JobStatus
from tend.core.tests.isolation import register, victim_builder
from tend.people.models import ContactImport
from tend.people.services.exports import EXPORT_JOB_KIND


@victim_builder
def _import_objects(v, canary):
    email = f"{canary('import email')}@victim.example"
    data = f"Email,First name\n{email},{canary('import name')}\n".encode()
    imp = ContactImport(tenant=v.tenant, original_name=f"{canary('import file')}.csv",
                        format="csv", encoding="utf-8", delimiter=",",
                        headers=["Email", "First name"],
                        mapping={"Email": "email", "First name": "first_name"},
                        status="MAPPED", created_by=v.owner)
    imp.file.save(f"{v.tenant.pk}/{imp.pk}.csv", ContentFile(data), save=False)
    imp.save()
    v.contact_import = imp
    path = default_storage.save(f"exports/{v.tenant.pk}/isolation.csv",
                                ContentFile(f"Email\n{email}\n".encode()))
    v.export_job = Job.objects.create(tenant=v.tenant, kind=EXPORT_JOB_KIND,
                                      status=JobStatus.SUCCEEDED, created_by=v.owner,
                                      result={"file": path, "format": "csv"})


register("GET", "/api/v1/people/imports", targets_victim=False, query=lambda v: {"limit": 5})
# The isolation suite sends JSON; an upload needs multipart, so the control is a 4xx too.
register("POST", "/api/v1/people/imports", targets_victim=False, control_status=(400, 422),
         also_ok=(400, 422))
imp = {"path": lambda v: {"import_id": v.contact_import.pk}}
register("GET", "/api/v1/people/imports/{import_id}", **imp)
register("PATCH", "/api/v1/people/imports/{import_id}", **imp, body=lambda v: {"mode": "SKIP"})
register("GET", "/api/v1/people/imports/{import_id}/preview", **imp)
register("POST", "/api/v1/people/imports/{import_id}/start", **imp)
register("GET", "/api/v1/people/imports/{import_id}/errors", **imp)
register("POST", "/api/v1/people/exports", targets_victim=False, body=lambda v: {"format": "csv"})
register("GET", "/api/v1/people/exports/{job_id}/file",
         path=lambda v: {"job_id": v.export_job.pk})
