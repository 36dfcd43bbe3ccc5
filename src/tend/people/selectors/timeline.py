"""Reading a contact's timeline."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.zones import tenant_zone
from tend.people.models import Activity, Company, Contact

TIMELINE_ORDERING = ("-occurred_at", "-id")


def _start_of(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone)


def visible_activities(*, tenant: Tenant, actor: Actor) -> QuerySet[Activity]:
    """`tenant`'s activities `actor` may see: everything but other people's private notes."""
    qs = Activity.objects.filter(tenant=tenant)
    # `has_key` first: on rows without the key, `private=True` is NULL, and NOT(NULL) would
    # hide them too.
    private = Q(metadata__has_key="private") & Q(metadata__private=True)
    user = actor.acting_user
    if user is None:
        return qs.exclude(private)
    return qs.exclude(private & ~Q(actor_user=user))


def timeline_for(*, tenant: Tenant, actor: Actor, contact: Contact,
                 filters: dict[str, Any] | None = None) -> QuerySet[Activity]:
    """The contact's activities, newest first (`TIMELINE_ORDERING`). Filters: `category`,
    `type` (one type or a list), `since`/`until` (dates, inclusive, in the organization's
    time zone), `not_after` (an aware time: the one a page cursor starts from, see
    `cursor_bound`). No related rows are loaded: rendering needs none."""
    qs = visible_activities(tenant=tenant, actor=actor).filter(contact=contact)
    return _filtered(tenant, qs, filters or {})


def timeline_for_company(*, tenant: Tenant, actor: Actor, company: Company,
                         filters: dict[str, Any] | None = None) -> QuerySet[Activity]:
    """The company's own activities and those of its people (live contacts whose company it
    is), newest first, with the same filters and visibility as `timeline_for`. Each activity
    comes with its contact (one join), so the page can name whom it is about."""
    people = Contact.objects.filter(tenant=tenant, company=company,
                                    deleted_at__isnull=True).values("pk")
    qs = (visible_activities(tenant=tenant, actor=actor)
          .filter(Q(company=company) | Q(contact_id__in=people))
          .select_related("contact"))
    return _filtered(tenant, qs, filters or {})


def _filtered(tenant: Tenant, qs: QuerySet[Activity],
              filters: dict[str, Any]) -> QuerySet[Activity]:
    if filters.get("category"):
        qs = qs.filter(category=filters["category"])
    types = filters.get("type")
    if types:
        qs = qs.filter(type__in=[types] if isinstance(types, str) else list(types))
    zone = tenant_zone(tenant)
    if filters.get("since"):
        qs = qs.filter(occurred_at__gte=_start_of(filters["since"], zone))
    if filters.get("until"):
        qs = qs.filter(occurred_at__lt=_start_of(filters["until"] + timedelta(days=1), zone))
    if filters.get("not_after"):
        qs = qs.filter(occurred_at__lte=filters["not_after"])
    return qs.order_by(*TIMELINE_ORDERING)


def cursor_bound(values: list[Any] | None) -> datetime | None:
    """The `occurred_at` a timeline cursor (its decoded `TIMELINE_ORDERING` values) starts
    from, or None when there is none or it is not an aware time.

    The keyset condition of a next page, `occurred_at < t OR (occurred_at = t AND id < i)`,
    cannot bound an index range, so PostgreSQL walks the contact's index entries from the
    newest and throws away every row before the cursor: deep pages of a long timeline cost
    as much as reading it whole. Adding `occurred_at <= t` (implied by it, so the rows are the
    same) starts the index range at the cursor."""
    if not values:
        return None
    try:
        bound = datetime.fromisoformat(str(values[0]))
    except ValueError:
        return None
    return bound if bound.tzinfo is not None else None
