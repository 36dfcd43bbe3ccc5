"""Time zones by name, never failing: a stored zone name that is empty or unknown (a zone
removed from the system's tz database, a bad import) falls back to UTC rather than breaking a
page or a tick. Validation of names people enter stays with their forms and services."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

UTC = ZoneInfo("UTC")


def zone_named(name: str | None) -> ZoneInfo:
    """The zone called `name`, or UTC when it is empty or unknown."""
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return UTC


def tenant_zone(tenant: Any) -> ZoneInfo:
    """The organization's zone (`tenant.time_zone`), or UTC."""
    return zone_named(getattr(tenant, "time_zone", ""))


def tenant_today(tenant: Any, now: datetime | None = None) -> date:
    """The organization's calendar day at `now` (default: this instant), in its zone."""
    return (now or timezone.now()).astimezone(tenant_zone(tenant)).date()
