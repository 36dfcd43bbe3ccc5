"""Demo segments: a hand-kept static list and two rule-based audiences, next to the system
segments the organization got when it was created."""

from __future__ import annotations

from typing import Any

from tend.marketing.choices import MembershipSource, RefreshFrequency, SegmentType
from tend.marketing.services.membership import segment_add_members
from tend.marketing.services.segments import segment_create
from tend.people.models import Contact


def load_segments_demo(ctx: Any) -> None:
    tenant, actor = ctx.tenant, ctx.actor
    contacts = list(Contact.objects.filter(tenant=tenant, deleted_at__isnull=True)
                    .order_by("created_at", "id").values_list("pk", flat=True))
    volunteers = segment_create(tenant=tenant, actor=actor, data={
        "name": "Retreat volunteers 2026", "type": SegmentType.STATIC,
        "description": "People who offered to help at the spring retreat."})
    picked = [pk for pk in contacts if ctx.rng.random() < 0.25][:12]
    segment_add_members(tenant=tenant, actor=actor, segment=volunteers, contact_ids=picked,
                        source=MembershipSource.MANUAL)
    segment_create(tenant=tenant, actor=actor, data={
        "name": "Donors in the last 90 days", "type": SegmentType.DYNAMIC,
        "refresh_frequency": RefreshFrequency.DAILY,
        "description": "Gave at least once in the last three months.",
        "rule": {"combinator": "and", "rules": [
            {"field": "activityCount", "operator": "greaterThanOrEqual",
             "value": {"type": "DONATION_RECEIVED", "days": 90, "count": 1}}]}})
    segment_create(tenant=tenant, actor=actor, data={
        "name": "Newsletter readers who are volunteers", "type": SegmentType.DYNAMIC,
        "refresh_frequency": RefreshFrequency.HOURLY,
        "description": "On the volunteers list and opted in to email.",
        "rule": {"combinator": "and", "rules": [
            {"field": "segment", "operator": "equals", "value": str(volunteers.pk)},
            {"field": "consent.email", "operator": "equals", "value": "GRANTED"}]}})
