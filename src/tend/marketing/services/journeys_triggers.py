"""What enrolls people in journeys: an activity of a type (with optional rule conditions on the
contact), entering or leaving a segment, and date fields coming round (the tick).

The activity receiver runs after every activity commit, so it must be cheap when no journey
listens: each process keeps an index of the ACTIVE journeys by trigger, per organization,
rebuilt at most every `INDEX_TTL_SECONDS` (and at once in the process that changed a
journey). Another process sees a newly activated journey within that time.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.zones import zone_named
from tend.marketing.models_journeys import Journey, JourneyStatus, TriggerType

logger = logging.getLogger(__name__)

INDEX_TTL_SECONDS = 10.0

_lock = threading.Lock()
_index: dict[Any, tuple[float, dict[tuple[str, str], list[tuple[Any, dict[str, Any]]]]]] = {}


def trigger_index_clear() -> None:
    with _lock:
        _index.clear()


def _listeners(tenant: Tenant, trigger_type: str, key: str) -> list[tuple[Any, dict[str, Any]]]:
    """(journey id, trigger config) of the tenant's ACTIVE journeys on this trigger."""
    now = time.monotonic()
    with _lock:
        cached = _index.get(tenant.pk)
    if cached is None or now - cached[0] > INDEX_TTL_SECONDS:
        table: dict[tuple[str, str], list[tuple[Any, dict[str, Any]]]] = {}
        for pk, type_, trigger_key, config in Journey.objects.filter(
                tenant=tenant, status=JourneyStatus.ACTIVE).exclude(
                trigger_type=TriggerType.MANUAL).values_list(
                "pk", "trigger_type", "trigger_key", "trigger_config"):
            table.setdefault((type_, trigger_key), []).append((pk, config))
        cached = (now, table)
        with _lock:
            _index[tenant.pk] = cached
    return cached[1].get((trigger_type, key), [])


def on_activity_recorded(sender: Any, tenant: Any, activity: Any, **kwargs: Any) -> None:
    """Enroll the activity's contact in each active journey triggered by its type (whose
    conditions, if any, the contact matches). The activity id is the entry key, so a repeated
    signal enrolls once."""
    if activity.contact_id is None:
        return
    listeners = _listeners(tenant, TriggerType.ACTIVITY, activity.type)
    if not listeners:
        return
    from tend.core.tenancy import tenant_scope
    from tend.marketing.services.journeys import journey_enroll_many

    try:
        with tenant_scope(tenant):
            for journey_id, config in listeners:
                if config.get("conditions"):
                    from tend.rules import rule_matches

                    if not rule_matches(tenant=tenant, rule=config["conditions"],
                                        contact=activity.contact):
                        continue
                journey = Journey.objects.filter(tenant=tenant, pk=journey_id).first()
                if journey is None:
                    continue
                journey_enroll_many(
                    tenant=tenant, actor=Actor.system(), journey=journey,
                    contact_ids=[activity.contact_id],
                    entry_keys={activity.contact_id: f"activity:{activity.pk}"},
                    trigger_data={"activity_id": str(activity.pk), "type": activity.type})
    except Exception:
        # A trigger must never break the change that recorded the activity.
        logger.exception("journey trigger on activity %s failed", activity.pk)


def on_segment_membership_changed(sender: Any, tenant: Any, segment_id: Any,
                                  entered: list[Any], left: list[Any], **kwargs: Any) -> None:
    """Enroll the contacts that entered (or left) a segment in the journeys triggered by it
    (set-based: one enrollment statement per journey, whatever the size of the change)."""
    from tend.core.tenancy import tenant_scope
    from tend.marketing.services.journeys import journey_enroll_many

    for trigger_type, ids in ((TriggerType.SEGMENT_ENTERED, entered),
                              (TriggerType.SEGMENT_LEFT, left)):
        if not ids:
            continue
        listeners = _listeners(tenant, trigger_type, str(segment_id))
        if not listeners:
            continue
        try:
            with tenant_scope(tenant):
                for journey_id, _config in listeners:
                    journey = Journey.objects.filter(tenant=tenant, pk=journey_id).first()
                    if journey is not None:
                        journey_enroll_many(tenant=tenant, actor=Actor.system(),
                                            journey=journey, contact_ids=ids,
                                            trigger_data={"segment_id": str(segment_id),
                                                          "trigger": trigger_type})
        except Exception:
            logger.exception("journey trigger on segment %s failed", segment_id)


def date_matches(journey: Journey, now: datetime) -> tuple[Q, str] | None:
    """The contacts whose date comes round for a DATE journey, as a filter, and the entry key
    suffix (the date), or None before the journey's time of day."""
    config = journey.trigger_config
    local = now.astimezone(zone_named(journey.time_zone))
    hour, minute = (int(part) for part in str(config.get("at") or "09:00").split(":"))
    if (local.hour, local.minute) < (hour, minute):
        return None
    target = local.date() + timedelta(days=int(config.get("days_before") or 0))
    field = config.get("field") or "date_of_birth"
    if field == "date_of_birth":
        if target.month == 2 and target.day == 28 and not _leap(target.year):
            q = Q(date_of_birth__month=2, date_of_birth__day__in=[28, 29])
        else:
            q = Q(date_of_birth__month=target.month, date_of_birth__day=target.day)
    else:
        key = field.removeprefix("custom.")
        if config.get("annual"):
            q = Q(**{f"custom__{key}__endswith": target.strftime("-%m-%d")})
        else:
            q = Q(**{f"custom__{key}": target.isoformat()})
    return q, target.isoformat()


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def date_triggers_run(*, now: datetime | None = None) -> int:
    """Enroll, in every ACTIVE DATE journey, the contacts whose date is `days_before` days
    ahead (once per contact and date: the entry key). System code (the tick): it reads every
    organization's journeys. Returns how many were enrolled."""
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.marketing.services.journeys import journey_enroll_many
    from tend.people.models import Contact

    now = now or timezone.now()
    total = 0
    with system_scope():
        journeys = list(Journey.objects.filter(
            status=JourneyStatus.ACTIVE, trigger_type=TriggerType.DATE, tenant__is_active=True)
            .select_related("tenant"))
    for journey in journeys:
        match = date_matches(journey, now)
        if match is None:
            continue
        q, day = match
        with tenant_scope(journey.tenant):
            ids = list(Contact.objects.filter(tenant=journey.tenant).filter(q)
                       .values_list("pk", flat=True)[:100_000])
            if not ids:
                continue
            rows = journey_enroll_many(
                tenant=journey.tenant, actor=Actor.system(), journey=journey, contact_ids=ids,
                entry_keys={pk: f"date:{day}:{pk}" for pk in ids},
                trigger_data={"date": day, "field": journey.trigger_key}, now=now)
            total += len(rows)
    return total
