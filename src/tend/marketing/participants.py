"""How segment memberships follow people through merges and privacy requests."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from tend.core.models import Tenant
from tend.marketing.models import Segment, SegmentMembership


def merge_memberships(tenant: Tenant, winner: Any, loser: Any) -> None:
    """The loser's memberships move to the winner; where both were members the winner's
    (older or not) stays and the loser's goes, and the segment's count drops by one."""
    shared = SegmentMembership.objects.filter(
        tenant=tenant, contact=loser,
        segment_id__in=SegmentMembership.objects.filter(tenant=tenant, contact=winner)
        .values("segment_id"))
    segment_ids = list(shared.values_list("segment_id", flat=True))
    shared.delete()
    if segment_ids:
        Segment.objects.filter(tenant=tenant, pk__in=segment_ids).update(
            member_count=F("member_count") - 1)
    SegmentMembership.objects.filter(tenant=tenant, contact=loser).update(contact=winner)


def export_memberships(tenant: Tenant, contact: Any) -> list[dict[str, Any]]:
    """The segments the person is in, since when and how."""
    rows = (SegmentMembership.objects.filter(tenant=tenant, contact=contact)
            .select_related("segment").order_by("segment__name"))
    return [{"segment": m.segment.name, "segment_id": str(m.segment_id),
             "type": m.segment.type, "member_since": m.matched_at.isoformat(),
             "source": m.source} for m in rows]


def erase_memberships(tenant: Tenant, contact: Any) -> None:
    """An erased person leaves every segment (counts follow)."""
    rows = SegmentMembership.objects.filter(tenant=tenant, contact=contact)
    segment_ids = list(rows.values_list("segment_id", flat=True))
    rows.delete()
    if segment_ids:
        Segment.objects.filter(tenant=tenant, pk__in=segment_ids).update(
            member_count=F("member_count") - 1)


def segments_panel_context(*, tenant: Tenant, actor: Any, contact: Any) -> dict[str, Any]:
    """The contact's segments for its page (one query)."""
    return {"memberships": list(SegmentMembership.objects.filter(
        tenant=tenant, contact=contact).select_related("segment").order_by("segment__name"))}
