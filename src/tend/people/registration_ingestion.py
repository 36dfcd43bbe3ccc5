"""What ingestion contributes to the core registries: the daily activity-count refresh, the
demo source, and how an identity taken over from a deleted contact shows on the timeline."""

from __future__ import annotations

from tend.core.demo import register_demo
from tend.core.periodic import register_periodic

DAY = 24 * 3600


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.people.demo_ingestion import load_ingestion_demo
    from tend.people.services.metrics import refresh_all_activity_counts
    from tend.people.services.resolution import REASSIGNED_TYPE
    from tend.people.timeline import TimelineRenderer, register_timeline_renderer

    register_timeline_renderer(REASSIGNED_TYPE, TimelineRenderer(
        "edit", _("Took over identities of a deleted contact: %(title)s")))
    register_periodic("people.refresh_activity_counts", DAY, refresh_all_activity_counts)
    register_demo(load_ingestion_demo, order=120)
