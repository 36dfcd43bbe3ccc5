"""Demo campaigns: an in-app newsletter ready for its launch (the demo has an in-app
account), an announcement of the spring retreat (its context filled), and the retreat as a
dated item to promote. Nothing is launched, so the demo never queues messages by itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tend.marketing.models import Segment
from tend.marketing.services.campaigns import campaign_create
from tend.marketing.services.promotion import promoted_item_create


def load_campaigns_demo(ctx: Any) -> None:
    tenant, actor = ctx.tenant, ctx.actor
    segments = {s.name: str(s.pk) for s in Segment.objects.filter(tenant=tenant)}
    audience = [segments[name] for name in ("Newsletter readers who are volunteers",
                                            "Retreat volunteers 2026") if name in segments]
    everyone = [str(pk) for pk in Segment.objects.filter(tenant=tenant, system_key="all")
                .values_list("pk", flat=True)] or audience
    campaign_create(tenant=tenant, actor=actor, data={
        "name": "May newsletter", "description": "The monthly letter to our volunteers.",
        "segment_ids": audience[:1],
        "channels": [{"channel": "WEB",
                      "body": "Dear {{ contact.first_name|default:\"friend\" }},\n\n"
                              "Here is what happened this month: https://example.org/news\n\n"
                              "{{ organization.name }}"}],
        "conversion_activity_type": "DONATION_RECEIVED", "conversion_days": 14})
    starts = (timezone.now() + timedelta(days=21)).replace(hour=9, minute=0, second=0,
                                                           microsecond=0)
    campaign_create(tenant=tenant, actor=actor, data={
        "name": "Spring retreat announcement", "kind": "ANNOUNCEMENT",
        "context_label": "Spring retreat",
        "context": {"title": "Spring retreat", "date": starts.date().isoformat(),
                    "time": "09:00", "place": "Hatta mountain lodge",
                    "url": "https://example.org/retreat"},
        "segment_ids": everyone[:1],
        "channels": [{"channel": "EMAIL", "subject": "{{ item.title }} on {{ item.date }}",
                      "body": "Dear {{ contact.first_name|default:\"friend\" }}, join us for "
                              "{{ item.title }} at {{ item.place }} on {{ item.date }}, "
                              "{{ item.time }}. Register: {{ item.url }}"}]})
    promoted_item_create(tenant=tenant, actor=actor, data={
        "title": "Spring retreat", "starts_at": starts, "place": "Hatta mountain lodge",
        "url": "https://example.org/retreat"})
