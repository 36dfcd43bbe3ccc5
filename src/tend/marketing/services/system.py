"""The system segments every organization starts with."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.marketing.choices import RefreshFrequency, SegmentType
from tend.marketing.models import Segment

SYSTEM_SEGMENTS: tuple[tuple[str, Any, Any, str, dict[str, Any]], ...] = (
    ("all", _("All contacts"), _("Everyone in the organization."), RefreshFrequency.DAILY,
     {"combinator": "and", "rules": []}),
    ("active_members", _("Active members"), _("Active contacts at the member or advocate "
                                              "stage."), RefreshFrequency.DAILY,
     {"combinator": "and", "rules": [
         {"field": "lifecycleStage", "operator": "in", "value": ["MEMBER", "ADVOCATE"]},
         {"field": "status", "operator": "equals", "value": "ACTIVE"}]}),
    ("high_engagement", _("High engagement"), _("Active in the last 14 days, with at least "
                                                "five activities in the last 30."),
     RefreshFrequency.DAILY,
     {"combinator": "and", "rules": [
         {"field": "lastActivityAt", "operator": "withinLast",
          "value": {"amount": 14, "unit": "days"}},
         {"field": "activityCount30d", "operator": "greaterThanOrEqual", "value": 5}]}),
    ("at_risk", _("At risk"), _("Active contacts with no activity for more than 60 days."),
     RefreshFrequency.DAILY,
     {"combinator": "and", "rules": [
         {"field": "status", "operator": "equals", "value": "ACTIVE"},
         {"field": "lastActivityAt", "operator": "moreThanAgo",
          "value": {"amount": 60, "unit": "days"}}]}),
    ("recently_added", _("Recently added"), _("Added in the last 30 days."),
     RefreshFrequency.DAILY,
     {"combinator": "and", "rules": [
         {"field": "createdAt", "operator": "withinLast",
          "value": {"amount": 30, "unit": "days"}}]}),
)


def system_segments_create(*, tenant: Tenant) -> list[Segment]:
    """Create the system segments `tenant` lacks (idempotent), in the organization's default
    language, and fill them. Runs as the system (at organization creation)."""
    from django.utils import translation

    from tend.marketing.services.segments import segment_create

    existing = set(Segment.objects.filter(tenant=tenant, is_system=True)
                   .values_list("system_key", flat=True))
    created = []
    with translation.override(tenant.default_language or "en"):
        for key, name, description, frequency, rule in SYSTEM_SEGMENTS:
            if key in existing:
                continue
            created.append(segment_create(
                tenant=tenant, actor=Actor.system(), is_system=True, system_key=key,
                data={"name": str(name), "description": str(description),
                      "type": SegmentType.DYNAMIC, "rule": rule,
                      "refresh_frequency": frequency}))
    return created
