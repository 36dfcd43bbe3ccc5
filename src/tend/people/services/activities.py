"""Recording activities: the one event stream."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.bulksql import column_arrays, execute_bound
from tend.core.errors import ValidationFailed
from tend.core.ids import uuid7
from tend.core.models import Tenant
from tend.people.models import Activity, Company, Contact
from tend.people.signals import activity_recorded

MAX_TYPE = 100


def activity_record(
    *,
    tenant: Tenant,
    actor: Actor,
    type: str,
    contact: Contact | None = None,
    company: Company | None = None,
    category: str = "",
    channel: str = "",
    title: str = "",
    description: str = "",
    metadata: dict[str, Any] | None = None,
    source: str = "",
    source_id: str = "",
    source_event_id: str | None = None,
    occurred_at: datetime | None = None,
    related: Any = None,
) -> tuple[Activity, bool]:
    """Append an activity about `contact` (and/or `company`); returns (activity, created).

    Call inside the transaction of the change it records. With `source_event_id`, a second
    call with the same `(source, source_event_id)` returns the existing activity and
    `created=False` (idempotent ingestion). Updates the contact's activity metrics.
    `activity_recorded` is sent after commit.
    """
    type = (type or "").strip().upper()
    if not type or len(type) > MAX_TYPE:
        raise ValidationFailed(fields={"type": ["Give an activity type (at most 100 characters)."]})
    if contact is None and company is None:
        raise ValidationFailed(fields={"contact": ["An activity is about a contact or a company."]})
    occurred_at = occurred_at or timezone.now()
    if source_event_id is not None:
        existing = Activity.objects.filter(
            tenant=tenant, source=source, source_event_id=source_event_id
        ).first()
        if existing is not None:
            return existing, False
    related_type = related_id = ""
    if related is not None:
        related_type = related._meta.label_lower
        related_id = str(related.pk)
    try:
        with transaction.atomic():
            activity = Activity.objects.create(
                tenant=tenant, contact=contact, company=company, type=type,
                category=category, channel=channel, title=title[:300],
                description=description, metadata=metadata or {}, source=source,
                source_id=source_id, source_event_id=source_event_id, occurred_at=occurred_at,
                processed_at=timezone.now(), actor_user=actor.acting_user,
                actor_label=actor.label[:200], related_type=related_type, related_id=related_id,
                created_by=actor.acting_user,
            )
    except IntegrityError:
        # Lost a race with the same event: the other insert won.
        existing = Activity.objects.filter(
            tenant=tenant, source=source, source_event_id=source_event_id
        ).first()
        if existing is None:
            raise
        return existing, False
    if contact is not None:
        _bump_contact_metrics(contact=contact, activity=activity)
    transaction.on_commit(
        lambda: activity_recorded.send(sender=Activity, tenant=tenant, activity=activity)
    )
    return activity, True


def _bump_contact_metrics(*, contact: Contact, activity: Activity) -> None:
    now = timezone.now()
    updates: dict[str, Any] = {}
    if activity.occurred_at >= now - timedelta(days=30):
        updates["activity_count_30d"] = F("activity_count_30d") + 1
    if activity.occurred_at >= now - timedelta(days=90):
        updates["activity_count_90d"] = F("activity_count_90d") + 1
    Contact.objects.filter(pk=contact.pk).update(**updates) if updates else None
    # Only move "last activity" forward (late-arriving old events don't rewind it).
    Contact.objects.filter(pk=contact.pk).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=activity.occurred_at)
    ).update(last_activity_at=activity.occurred_at, last_activity_type=activity.type)


def activities_record_many(rows: Sequence[dict[str, Any]], *, now: datetime | None = None) -> int:
    """Append many activities written by system code (no actor, no validation, no
    `activity_recorded` signal): each row maps `Activity` attribute names (`tenant_id`,
    `contact_id`, …) to values, fields left out take their defaults (`created_at`,
    `updated_at` and `processed_at`: `now`). A row whose `(tenant, source, source_event_id)`
    is already recorded is skipped. The contacts of the rows written get their activity
    metrics as `activity_record` keeps them (counts within 30 and 90 days, the last activity
    only moved forward). Returns the rows written. Call inside the caller's transaction and
    scope.

    PostgreSQL: one statement — `INSERT … SELECT` over `unnest` of one array per column
    (bound server-side, see `core.bulksql`), `ON CONFLICT DO NOTHING … RETURNING` feeding one
    `UPDATE` of the contacts. SQLite: the ORM's `bulk_create` and a few set-based updates."""
    if not rows:
        return 0
    now = now or timezone.now()
    fields = list(Activity._meta.concrete_fields)
    defaults: dict[str, Any] = {"created_at": now, "updated_at": now, "processed_at": now}
    for f in fields:
        if f.attname not in defaults and f.attname != "id":
            defaults[f.attname] = f.get_default()
    if connection.vendor != "postgresql":
        return _record_many_orm(rows, defaults, now)
    values: list[list[Any]] = []
    for row in rows:
        item = []
        for f in fields:
            name = f.attname
            if name == "id":
                item.append(row.get("id") or uuid7())
            else:
                item.append(row[name] if name in row else defaults[name])
        values.append(item)
    quote = connection.ops.quote_name
    names = ", ".join(quote(str(f.column)) for f in fields)
    source, arrays = column_arrays(fields, values)
    activity = quote(Activity._meta.db_table)
    contact = quote(Contact._meta.db_table)
    sql = (
        f"WITH added AS (INSERT INTO {activity} ({names}) SELECT u.* FROM {source} "
        "ON CONFLICT (tenant_id, source, source_event_id) WHERE source_event_id IS NOT NULL "
        "DO NOTHING RETURNING contact_id, occurred_at, type), "
        "per_contact AS (SELECT contact_id, "
        "count(*) FILTER (WHERE occurred_at >= %s) AS n30, "
        "count(*) FILTER (WHERE occurred_at >= %s) AS n90, max(occurred_at) AS at, "
        "(array_agg(type ORDER BY occurred_at DESC))[1] AS type "
        "FROM added WHERE contact_id IS NOT NULL GROUP BY contact_id), "
        f"bumped AS (UPDATE {contact} AS c SET "
        "activity_count_30d = c.activity_count_30d + p.n30, "
        "activity_count_90d = c.activity_count_90d + p.n90, "
        "last_activity_at = CASE WHEN c.last_activity_at IS NULL OR c.last_activity_at < p.at "
        "THEN p.at ELSE c.last_activity_at END, "
        "last_activity_type = CASE WHEN c.last_activity_at IS NULL OR c.last_activity_at < p.at "
        "THEN p.type ELSE c.last_activity_type END "
        "FROM per_contact AS p WHERE c.id = p.contact_id RETURNING 1) "
        "SELECT (SELECT count(*) FROM added)")
    _count, result = execute_bound(
        sql, [*arrays, now - timedelta(days=30), now - timedelta(days=90)], fetch=True)
    return int(result[0][0])


def _record_many_orm(rows: Sequence[dict[str, Any]], defaults: dict[str, Any],
                     now: datetime) -> int:
    keyed = [row for row in rows if row.get("source_event_id") is not None]
    if keyed:
        # Already recorded: skipped (and not counted), as the unique constraint would.
        seen = set(Activity.objects.filter(
            tenant_id__in={row["tenant_id"] for row in keyed},
            source__in={row.get("source", "") for row in keyed},
            source_event_id__in=[row["source_event_id"] for row in keyed],
        ).values_list("tenant_id", "source", "source_event_id"))
        if seen:
            rows = [row for row in rows if (row["tenant_id"], row.get("source", ""),
                                            row.get("source_event_id")) not in seen]
    objs = [Activity(**{**defaults, **row}) for row in rows]
    Activity.objects.bulk_create(objs, ignore_conflicts=True, batch_size=500)
    latest: dict[Any, Activity] = {}
    by_window: dict[tuple[int, int], list[Any]] = defaultdict(list)
    counts: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for obj in objs:
        if obj.contact_id is None:
            continue
        count = counts[obj.contact_id]
        count[0] += obj.occurred_at >= now - timedelta(days=30)
        count[1] += obj.occurred_at >= now - timedelta(days=90)
        if obj.contact_id not in latest or latest[obj.contact_id].occurred_at < obj.occurred_at:
            latest[obj.contact_id] = obj
    for contact_id, (n30, n90) in counts.items():
        by_window[(n30, n90)].append(contact_id)
    for (n30, n90), ids in by_window.items():
        if n30 or n90:
            Contact.objects.filter(pk__in=ids).update(
                activity_count_30d=F("activity_count_30d") + n30,
                activity_count_90d=F("activity_count_90d") + n90)
    by_moment: dict[tuple[datetime, str], list[Any]] = defaultdict(list)
    for contact_id, obj in latest.items():
        by_moment[(obj.occurred_at, obj.type)].append(contact_id)
    for (at, type), ids in by_moment.items():
        Contact.objects.filter(pk__in=ids).filter(
            Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
        ).update(last_activity_at=at, last_activity_type=type)
    return len(objs)
