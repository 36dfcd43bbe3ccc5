"""System housekeeping the periodic tick runs: pruning old rows, ending expired grants.

These cross organizations and run under `system_scope()`; entries they write to an
organization's audit log are written inside that organization's scope by the system actor.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tend.core.actors import Actor
from tend.core.models import Membership
from tend.core.services.audit import audit_record
from tend.core.tenancy import tenant_scope


def task_results_prune(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Delete finished (successful or failed) task results that finished more than
    `older_than` ago. Queued and running tasks are never touched. Returns how many went."""
    cutoff = (now or timezone.now()) - older_than
    deleted, _ = DBTaskResult.objects.finished().filter(finished_at__lt=cutoff).delete()
    return deleted


class WorkerLost(Exception):
    """Recorded on a task whose worker stopped (crashed, was killed) while running it."""


def task_results_fail_lost(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Mark as failed the tasks still "running" long after they started: their worker died
    mid-task (the queue does not retry them). Returns how many were marked."""
    cutoff = (now or timezone.now()) - older_than
    lost = 0
    for result in DBTaskResult.objects.running().filter(started_at__lt=cutoff):
        result.set_failed(WorkerLost(f"no result {older_than} after the task started"))
        lost += 1
    return lost


def memberships_end_expired(*, now: datetime | None = None) -> int:
    """Switch off every active membership whose `expires_at` has passed, writing a
    `member.expired` audit entry in its organization. Call under `system_scope()`.

    Access already stops at `expires_at` (the access selectors check it); this makes the end
    visible in the members list and the audit log. Returns how many memberships ended.
    """
    now = now or timezone.now()
    ended = 0
    due = (Membership.objects.filter(is_active=True, expires_at__lte=now)
           .select_related("tenant").order_by("tenant_id", "expires_at"))
    for membership in due:
        with tenant_scope(membership.tenant), transaction.atomic():
            # Compare-and-set: a concurrent tick, or an admin extending the grant, wins.
            changed = Membership.objects.filter(
                tenant=membership.tenant, pk=membership.pk, is_active=True, expires_at__lte=now
            ).update(is_active=False, updated_at=now)
            if changed:
                audit_record(
                    tenant=membership.tenant, actor=Actor.system(), action="member.expired",
                    entity_type="membership", entity_id=membership.pk,
                    changes={"user": str(membership.user_id),
                             "expires_at": now.isoformat() if membership.expires_at is None
                             else membership.expires_at.isoformat()},
                )
                ended += 1
    return ended
