"""What duplicates, merge and privacy contribute to the registries: job kinds, the retention
tick, the demo loader, and the people module's own merge participants, exporters and erasers.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from tend.core.background import enqueue_on_commit, tenant_task
from tend.core.jobkinds import JobKind, register_job_kind
from tend.core.models import Tenant

logger = logging.getLogger(__name__)


@tenant_task
def retention_task(tenant: Tenant) -> int:
    """Apply the organization's retention rule (a batch per run; the next tick continues)."""
    from tend.people.services.privacy import retention_apply

    return retention_apply(tenant=tenant)


def retention_tick(due_at: datetime) -> int:
    """Daily: enqueue the retention task of every active organization whose rule is on.
    Runs under `system_scope()`; returns how many were enqueued."""
    from tend.people.services.privacy import retention_settings

    enqueued = 0
    for tenant in Tenant.objects.filter(is_active=True).only("id", "settings"):
        if retention_settings(tenant)["enabled"]:
            enqueue_on_commit(retention_task, tenant.pk)
            enqueued += 1
    return enqueued


def duplicates_panel_context(*, tenant: Tenant, actor: Any, contact: Any
                             ) -> dict[str, Any] | None:
    """Pending duplicate pairs of this contact, for its page (one query)."""
    from django.db.models import Q

    from tend.people.models import DuplicateCandidate

    if not contact.is_live:
        return None
    candidates = list(DuplicateCandidate.objects.filter(
        Q(contact_a=contact) | Q(contact_b=contact), tenant=tenant, resolution="PENDING",
    ).select_related("contact_a", "contact_b").order_by("-score")[:5])
    if not candidates:
        return None
    pairs = [{"candidate": c, "other": c.contact_b if c.contact_a_id == contact.pk
              else c.contact_a} for c in candidates]
    return {"pairs": pairs}


def register() -> None:
    from tend.core.demo import register_demo
    from tend.core.periodic import register_periodic
    from tend.people.demo_duplicates import load_duplicates_demo
    from tend.people.panels import register_contact_panel
    from tend.people.services.duplicates import DETECT_JOB_KIND, run_detection_job
    from tend.people.services.merge import register_people_merge_participants
    from tend.people.services.privacy import (
        EXPORT_JOB_KIND,
        clean_export_params,
        register_people_privacy,
        run_export_job,
    )

    register_job_kind(JobKind(
        DETECT_JOB_KIND, _("Find duplicate contacts"), run=run_detection_job,
        description=_("Compares contacts that share an email, a phone or a similar name."),
        count_labels={"pairs": _("Pairs compared"), "candidates": _("Likely duplicates")},
    ))
    register_job_kind(JobKind(
        EXPORT_JOB_KIND, _("Personal data export"), run=run_export_job,
        clean_params=clean_export_params,
    ))
    register_people_merge_participants()
    register_people_privacy()
    register_periodic("people.retention", 24 * 3600, retention_tick)
    register_demo(load_duplicates_demo, order=130)
    register_contact_panel("people.duplicates", _("Possible duplicates"),
                           "people/partials/contact_duplicates.html",
                           context_func=duplicates_panel_context,
                           permission="contacts.manage", order=20)
    register_contact_panel("people.privacy", _("Privacy"),
                           "people/partials/contact_privacy.html",
                           permission="privacy.view", order=900)
