"""Background work of segments: re-evaluating one contact after a change, refreshing
segments that depend on a segment whose members changed a lot, and the scheduled refreshes
of the periodic tick."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q

from tend.core.actors import Actor
from tend.core.background import enqueue_on_commit, tenant_task
from tend.core.models import Tenant
from tend.marketing.choices import RefreshTrigger, SegmentType


@tenant_task
def reevaluate_contact_task(tenant: Tenant, contact_id: str, kinds: list[str] | None) -> int:
    """Bring one contact's dynamic memberships up to date (idempotent: applies the current
    difference, which is empty the second time)."""
    from tend.marketing.services.membership import segments_reevaluate_contact

    return len(segments_reevaluate_contact(tenant=tenant, contact_id=contact_id, kinds=kinds))


@tenant_task
def refresh_segment_task(tenant: Tenant, segment_id: str, trigger: str) -> int:
    """Refresh one dynamic segment (skipped when it is gone or switched off)."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import segment_refresh

    segment = Segment.objects.filter(tenant=tenant, pk=segment_id, is_active=True,
                                     type=SegmentType.DYNAMIC).first()
    if segment is None:
        return 0
    refresh = segment_refresh(tenant=tenant, actor=Actor.system(), segment=segment,
                              trigger=trigger)
    return refresh.added + refresh.removed


@tenant_task
def refresh_dependents_task(tenant: Tenant, segment_id: str) -> int:
    """Refresh the dynamic segments whose rules name `segment_id` (after a big change)."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import dynamic_segments_in_order, segment_refresh

    dependents = [s for s in Segment.objects.filter(tenant=tenant, type=SegmentType.DYNAMIC,
                                                    is_active=True)
                  if segment_id in (s.segment_refs or [])]
    for segment in dynamic_segments_in_order(dependents):
        segment_refresh(tenant=tenant, actor=Actor.system(), segment=segment,
                        trigger=RefreshTrigger.MEMBERS)
    return len(dependents)


@tenant_task
def refresh_all_dynamic_task(tenant: Tenant, trigger: str) -> int:
    """Refresh every active dynamic segment, referenced segments first (after an import
    changed many contacts at once: one set-based refresh each beats a re-evaluation per
    contact)."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import dynamic_segments_in_order, segment_refresh

    segments = Segment.objects.filter(tenant=tenant, type=SegmentType.DYNAMIC, is_active=True)
    ordered = dynamic_segments_in_order(segments)
    for segment in ordered:
        segment_refresh(tenant=tenant, actor=Actor.system(), segment=segment, trigger=trigger)
    return len(ordered)


def enqueue_reevaluation(tenant: Any, contact_id: Any, kinds: list[str] | None) -> None:
    enqueue_on_commit(reevaluate_contact_task, tenant, contact_id,
                      sorted(kinds) if kinds is not None else None)


def enqueue_dependents_refresh(tenant: Any, segment_id: Any) -> None:
    enqueue_on_commit(refresh_dependents_task, tenant, segment_id)


def refresh_due_tick(due_at: datetime) -> int:
    """Periodic (every few minutes): enqueue the refresh of every active dynamic segment
    whose refresh frequency says it is due. Runs under `system_scope()`."""
    from tend.marketing.models import Segment

    due = (Segment.objects.filter(type=SegmentType.DYNAMIC, is_active=True,
                                  tenant__is_active=True)
           .filter(Q(next_refresh_at__lte=due_at))
           .exclude(refresh_frequency="MANUAL")
           .values_list("tenant_id", "pk"))
    count = 0
    for tenant_id, segment_id in due:
        enqueue_on_commit(refresh_segment_task, str(tenant_id), str(segment_id),
                          RefreshTrigger.SCHEDULE)
        count += 1
    return count
