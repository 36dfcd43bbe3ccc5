"""Refreshing a big segment as a background job the UI can follow."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Job, Tenant
from tend.core.services.guards import check_perm
from tend.core.services.jobs import job_create, job_progress
from tend.marketing.choices import RefreshTrigger, SegmentType
from tend.marketing.models import Segment

REFRESH_JOB_KIND = "marketing.segment_refresh"
# Segments with more members than this refresh as a job from the page and the API.
REFRESH_INLINE_MAX = 20_000


def segment_refresh_start(*, tenant: Tenant, actor: Actor, segment: Segment) -> Job:
    """Queue a refresh of a dynamic segment as a job. Needs `segments.change`."""
    check_perm(actor, "segments.change")
    if segment.type != SegmentType.DYNAMIC:
        raise ValidationFailed(fields={"segment": [_("Only dynamic segments are refreshed.")]})
    return job_create(tenant=tenant, actor=actor, kind=REFRESH_JOB_KIND,
                      title=_("Refresh segment %(name)s") % {"name": segment.name},
                      params={"segment_id": str(segment.pk)}, total=1)


def clean_refresh_params(params: dict[str, Any]) -> dict[str, Any]:
    if set(params) != {"segment_id"} or not isinstance(params["segment_id"], str):
        raise ValidationFailed(fields={"segment_id": [_("Give a segment id.")]})
    return {"segment_id": params["segment_id"]}


def run_refresh_job(*, tenant: Tenant, job: Job) -> dict[str, Any]:
    from tend.marketing.services.membership import segment_refresh

    segment = Segment.objects.filter(tenant=tenant, pk=job.params["segment_id"]).first()
    if segment is None:
        return {"skipped": 1}
    job_progress(tenant=tenant, job=job, processed=0, total=1)
    refresh = segment_refresh(tenant=tenant, actor=Actor.system(), segment=segment,
                              trigger=RefreshTrigger.MANUAL, job=job)
    job_progress(tenant=tenant, job=job, processed=1,
                 counts={"added": refresh.added, "removed": refresh.removed})
    return {"added": refresh.added, "removed": refresh.removed,
            "members": refresh.member_count}
