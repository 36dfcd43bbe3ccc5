"""Helpers for the segment tests."""

from __future__ import annotations

from tend.core.tenancy import tenant_scope
from tend.marketing.models import Segment, SegmentMembership


def member_ids(segment: Segment) -> set[str]:
    with tenant_scope(segment.tenant):
        return {str(pk) for pk in SegmentMembership.objects.filter(
            segment=segment).values_list("contact_id", flat=True)}


def city_rule(city: str) -> dict:
    return {"combinator": "and", "rules": [{"field": "city", "operator": "equals",
                                            "value": city}]}
