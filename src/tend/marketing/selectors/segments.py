"""Reading segments, their members, refresh history and count history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found
from tend.marketing.models import Segment, SegmentCount, SegmentMembership, SegmentRefresh
from tend.people.models import Contact
from tend.people.visibility import contact_scope_filter


def segment_list(*, tenant: Tenant, search: str = "", type: str = "",
                 active: bool | None = None) -> QuerySet[Segment]:
    """The organization's segments, system ones first, then by name."""
    qs = Segment.objects.filter(tenant=tenant)
    if search:
        qs = qs.filter(name__icontains=search)
    if type:
        qs = qs.filter(type=type)
    if active is not None:
        qs = qs.filter(is_active=active)
    return qs.order_by("-is_system", "name", "id")


def segment_get(*, tenant: Tenant, segment_id: Any) -> Segment:
    """One segment of `tenant`, or NotFound."""
    return one_or_not_found(Segment.objects.filter(tenant=tenant), segment_id,
                            _("No such segment."))


def segment_members(*, tenant: Tenant, segment: Segment, actor: Any = None
                    ) -> QuerySet[SegmentMembership]:
    """The segment's memberships with their contacts (newest first by default); given
    `actor`, only the people the actor may see (`people.visibility`)."""
    qs = SegmentMembership.objects.filter(tenant=tenant, segment=segment)
    scope = contact_scope_filter(tenant=tenant, actor=actor)
    if scope is not None:
        qs = qs.filter(scope)
    return qs.select_related("contact", "added_by")


def segment_member_contacts(*, tenant: Tenant, segment: Segment) -> QuerySet[Contact]:
    """The segment's contacts as a Contact queryset (an indexed semi-join), for exports."""
    return Contact.objects.filter(tenant=tenant).filter(Exists(
        SegmentMembership.objects.filter(tenant=tenant, segment=segment,
                                         contact_id=OuterRef("pk"))))


def segment_refreshes(*, tenant: Tenant, segment: Segment, limit: int = 20
                      ) -> list[SegmentRefresh]:
    return list(SegmentRefresh.objects.filter(tenant=tenant, segment=segment)
                .select_related("job").order_by("-started_at")[:limit])


def segment_count_history(*, tenant: Tenant, segment: Segment, days: int = 90
                          ) -> list[tuple[date, int]]:
    """(day, member count) for the last `days` days, carrying the last known count over
    days without a record (nothing before the first record)."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = list(SegmentCount.objects.filter(tenant=tenant, segment=segment, day__lte=today)
                .order_by("day").values_list("day", "member_count"))
    if not rows:
        return []
    before = [count for day, count in rows if day < start]
    known = {day: count for day, count in rows if day >= start}
    current: int | None = before[-1] if before else None
    out: list[tuple[date, int]] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in known:
            current = known[day]
        if current is not None:
            out.append((day, current))
    return out


def contact_segments(*, tenant: Tenant, contact_id: UUID) -> list[SegmentMembership]:
    """A contact's memberships with their segments (by segment name)."""
    return list(SegmentMembership.objects.filter(tenant=tenant, contact_id=contact_id)
                .select_related("segment").order_by("segment__name"))


def static_segment_choices(*, tenant: Tenant) -> list[tuple[str, str]]:
    """(id, name) of the active lists people can be added to by hand (static and import)."""
    return [(str(pk), name) for pk, name in Segment.objects.filter(
        tenant=tenant, is_active=True).exclude(type="DYNAMIC").order_by("name")
        .values_list("pk", "name")]
