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
def refresh_segments_task(tenant: Tenant, segment_ids: list[str], trigger: str) -> int:
    """Refresh several dynamic segments together (`segments_refresh`: one transaction,
    referenced segments first, batched bookkeeping); gone or switched-off ones are skipped."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import segments_refresh

    segments = list(Segment.objects.filter(tenant=tenant, pk__in=segment_ids, is_active=True,
                                           type=SegmentType.DYNAMIC))
    refreshes = segments_refresh(tenant=tenant, actor=Actor.system(), segments=segments,
                                 trigger=trigger)
    return sum(r.added + r.removed for r in refreshes)


@tenant_task
def refresh_dependents_task(tenant: Tenant, segment_id: str) -> int:
    """Refresh the dynamic segments whose rules name `segment_id` (after a big change)."""
    from tend.marketing.models import Segment
    from tend.marketing.services.membership import segments_refresh

    dependents = [s for s in Segment.objects.filter(tenant=tenant, type=SegmentType.DYNAMIC,
                                                    is_active=True)
                  if segment_id in (s.segment_refs or [])]
    segments_refresh(tenant=tenant, actor=Actor.system(), segments=dependents,
                     trigger=RefreshTrigger.MEMBERS)
    return len(dependents)


@tenant_task
def refresh_all_dynamic_task(tenant: Tenant, trigger: str) -> int:
    """Refresh every active dynamic segment together, referenced segments first (after an
    import changed many contacts at once: one set-based refresh each beats a re-evaluation
    per contact)."""
    from tend.marketing.services.membership import segments_refresh_all

    return len(segments_refresh_all(tenant=tenant, actor=Actor.system(), trigger=trigger))


def enqueue_reevaluation(tenant: Any, contact_id: Any, kinds: list[str] | None) -> None:
    enqueue_on_commit(reevaluate_contact_task, tenant, contact_id,
                      sorted(kinds) if kinds is not None else None)


def enqueue_dependents_refresh(tenant: Any, segment_id: Any) -> None:
    enqueue_on_commit(refresh_dependents_task, tenant, segment_id)


def refresh_due_tick(due_at: datetime) -> int:
    """Periodic (every few minutes): enqueue the refresh of every active dynamic segment
    whose refresh frequency says it is due — one task per organization, refreshing its due
    segments together. Runs under `system_scope()`."""
    from tend.marketing.models import Segment

    due = (Segment.objects.filter(type=SegmentType.DYNAMIC, is_active=True,
                                  tenant__is_active=True)
           .filter(Q(next_refresh_at__lte=due_at))
           .exclude(refresh_frequency="MANUAL")
           .order_by("tenant_id", "pk")
           .values_list("tenant_id", "pk"))
    by_tenant: dict[str, list[str]] = {}
    for tenant_id, segment_id in due:
        by_tenant.setdefault(str(tenant_id), []).append(str(segment_id))
    for tenant_key, segment_ids in by_tenant.items():
        enqueue_on_commit(refresh_segments_task, tenant_key, segment_ids,
                          RefreshTrigger.SCHEDULE)
    return sum(len(ids) for ids in by_tenant.values())
