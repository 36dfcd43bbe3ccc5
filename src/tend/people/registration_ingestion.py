"""What ingestion contributes to the core registries: the daily activity-count refresh and
the demo source."""

from __future__ import annotations

from tend.core.demo import register_demo
from tend.core.periodic import register_periodic

DAY = 24 * 3600


def register() -> None:
    from tend.people.demo_ingestion import load_ingestion_demo
    from tend.people.services.metrics import refresh_all_activity_counts

    register_periodic("people.refresh_activity_counts", DAY, refresh_all_activity_counts)
    register_demo(load_ingestion_demo, order=120)
