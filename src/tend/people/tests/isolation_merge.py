"""Isolation entries for duplicates, merge and privacy."""

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from tend.core.models import Job, JobStatus
from tend.core.tests.isolation import register, victim_builder
from tend.people.models import Contact, DuplicateCandidate
from tend.people.services.privacy import EXPORT_JOB_KIND


@victim_builder
def _merge_objects(v, canary):
    def contact(label):
        name = canary(label)
        return Contact.objects.create(tenant=v.tenant, first_name=name, display_name=name,
                                      primary_email=f"{canary(label + ' email')}@victim.example")

    v.merge_winner, v.merge_loser = contact("merge winner"), contact("merge loser")
    a, b = sorted([v.merge_winner.pk, v.merge_loser.pk])
    v.duplicate = DuplicateCandidate.objects.create(tenant=v.tenant, contact_a_id=a,
                                                    contact_b_id=b, match_type="NAME",
                                                    score=91, matched_fields=["name"])
    v.privacy_contact = contact("privacy subject")
    path = default_storage.save(f"privacy-exports/{v.tenant.pk}/isolation.zip",
                                ContentFile(b"PK\x05\x06" + b"\x00" * 18))
    v.privacy_job = Job.objects.create(
        tenant=v.tenant, kind=EXPORT_JOB_KIND, status=JobStatus.SUCCEEDED,
        params={"contact_id": str(v.privacy_contact.pk)}, result={"file": path},
    )


register("GET", "/api/v1/duplicates", targets_victim=False,
         query=lambda v: {"resolution": "ALL"})
register("POST", "/api/v1/duplicates/detect", targets_victim=False)
register("POST", "/api/v1/duplicates/{candidate_id}/resolve",
         path=lambda v: {"candidate_id": v.duplicate.pk},
         body=lambda v: {"resolution": "NOT_DUPLICATE"})

register("GET", "/api/v1/merge/preview", targets_victim=True,
         query=lambda v: {"winner_id": v.merge_winner.pk, "loser_id": v.merge_loser.pk})
register("POST", "/api/v1/merge", targets_victim=True,
         body=lambda v: {"winner_id": str(v.merge_winner.pk),
                         "loser_id": str(v.merge_loser.pk),
                         "field_choices": {"first_name": "loser"}})

subject = {"path": lambda v: {"contact_id": v.privacy_contact.pk}}
register("GET", "/api/v1/contacts/{contact_id}/privacy-export", **subject)
register("POST", "/api/v1/contacts/{contact_id}/privacy-export", **subject)
register("POST", "/api/v1/contacts/{contact_id}/erase", **subject,
         body=lambda v: {"confirmation": "ERASE"})
register("GET", "/api/v1/privacy-exports/{job_id}",
         path=lambda v: {"job_id": v.privacy_job.pk})
register("GET", "/api/v1/privacy/retention", targets_victim=False)
register("PUT", "/api/v1/privacy/retention", targets_victim=False,
         body=lambda v: {"enabled": False, "inactive_months": 24})
