"""Reads of reminders, social posts and webhooks: lists, one row by id (NotFound for other
organizations' and malformed ids), the social calendar's month."""

from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import NotFound, PermissionDenied
from tend.core.models import Tenant
from tend.core.zones import zone_named
from tend.marketing.models import (
    Reminder,
    ReminderRule,
    ReminderStatus,
    SocialConnection,
    SocialPost,
    SocialPostTarget,
    WebhookDelivery,
    WebhookSubscription,
)


def _get(qs: QuerySet[Any], pk: Any, message: str) -> Any:
    try:
        obj = qs.filter(pk=UUID(str(pk))).first()
    except (ValueError, TypeError):
        obj = None
    if obj is None:
        raise NotFound(message)
    return obj


# --- reminders -------------------------------------------------------------------------------


def reminder_list(*, tenant: Tenant, actor: Actor, scope: str = "mine", status: str = "OPEN",
                  type: str = "", contact_id: Any = None, due: str = "") -> QuerySet[Reminder]:
    """Reminders, soonest due first. `scope` "mine" (the actor's; an API key's creator's)
    or "all" (needs `reminders.manage`); `status` one status or "" for any; `due` "today"
    (due by now) or "overdue" (due before today's start, UTC). Only about people the actor
    may see (`people.visibility`: unit-scoped staff)."""
    from tend.people.visibility import contact_scope_filter

    qs = Reminder.objects.filter(tenant=tenant).select_related("contact", "recipient", "rule")
    limit = contact_scope_filter(tenant=tenant, actor=actor)
    if limit is not None:
        qs = qs.filter(limit)
    if scope == "all":
        if not actor.has_perm("reminders.manage"):
            raise PermissionDenied(_("Only people who manage reminders see everyone's."))
    else:
        user = actor.acting_user
        qs = qs.filter(recipient_id=user.pk if user is not None else None)
    if status in ReminderStatus.values:
        qs = qs.filter(status=status)
    if type:
        qs = qs.filter(type=type)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if due in ("today", "overdue"):
        from django.utils import timezone

        now = timezone.now()
        qs = qs.filter(due_at__lte=now if due == "today" else
                       now.replace(hour=0, minute=0, second=0, microsecond=0))
    return qs.order_by("due_at", "id")


def reminder_get(*, tenant: Tenant, actor: Actor, reminder_id: Any) -> Reminder:
    """One reminder the actor may see (their own, or any with `reminders.manage`)."""
    qs = Reminder.objects.filter(tenant=tenant).select_related("contact", "recipient")
    if not actor.has_perm("reminders.manage"):
        user = actor.acting_user
        qs = qs.filter(recipient_id=user.pk if user is not None else None)
    return _get(qs, reminder_id, _("No such reminder."))


def reminder_rule_list(*, tenant: Tenant) -> QuerySet[ReminderRule]:
    return ReminderRule.objects.filter(tenant=tenant).order_by("name", "id")


def reminder_rule_get(*, tenant: Tenant, rule_id: Any) -> ReminderRule:
    return _get(ReminderRule.objects.filter(tenant=tenant), rule_id,
                _("No such reminder rule."))


# --- social ----------------------------------------------------------------------------------


def social_connection_list(*, tenant: Tenant) -> QuerySet[SocialConnection]:
    return SocialConnection.objects.filter(tenant=tenant).order_by("platform", "name", "id")


def social_connection_get(*, tenant: Tenant, connection_id: Any) -> SocialConnection:
    return _get(SocialConnection.objects.filter(tenant=tenant), connection_id,
                _("No such account."))


def _with_targets(qs: QuerySet[SocialPost]) -> QuerySet[SocialPost]:
    return qs.prefetch_related(Prefetch(
        "targets", queryset=SocialPostTarget.objects.select_related("connection")))


def social_post_list(*, tenant: Tenant, status: str = "", start: datetime | None = None,
                     end: datetime | None = None) -> QuerySet[SocialPost]:
    """Posts with their targets; `start`/`end` keep those planned, scheduled or published
    in [start, end)."""
    qs = SocialPost.objects.filter(tenant=tenant)
    if status:
        qs = qs.filter(status=status)
    if start is not None and end is not None:
        qs = qs.filter(Q(published_at__gte=start, published_at__lt=end)
                       | Q(published_at__isnull=True, scheduled_at__gte=start,
                           scheduled_at__lt=end))
    return _with_targets(qs)


def social_post_get(*, tenant: Tenant, post_id: Any) -> SocialPost:
    return _get(_with_targets(SocialPost.objects.filter(tenant=tenant)), post_id,
                _("No such post."))


def social_calendar(*, tenant: Tenant, year: int, month: int, zone: str = "UTC"
                    ) -> list[list[dict[str, Any]]]:
    """The month as weeks (Monday first) of days `{"date", "in_month", "posts"}`, each post
    on its local day of publication (or of its schedule)."""
    tz = zone_named(zone)
    first = date(year, month, 1)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    start = datetime.combine(weeks[0][0], time(0), tzinfo=tz)
    end = datetime.combine(weeks[-1][-1] + timedelta(days=1), time(0), tzinfo=tz)
    by_day: dict[date, list[SocialPost]] = {}
    for post in social_post_list(tenant=tenant, start=start, end=end).order_by(
            "scheduled_at", "id"):
        when = post.published_at or post.scheduled_at
        if when is not None:
            by_day.setdefault(when.astimezone(tz).date(), []).append(post)
    return [[{"date": d, "in_month": d.month == first.month, "posts": by_day.get(d, [])}
             for d in week] for week in weeks]


# --- webhooks --------------------------------------------------------------------------------


def webhook_subscription_list(*, tenant: Tenant) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(tenant=tenant).order_by("name", "id")


def webhook_subscription_get(*, tenant: Tenant, subscription_id: Any) -> WebhookSubscription:
    return _get(WebhookSubscription.objects.filter(tenant=tenant), subscription_id,
                _("No such webhook."))


def webhook_delivery_list(*, tenant: Tenant, subscription: WebhookSubscription | None = None,
                          status: str = "") -> QuerySet[WebhookDelivery]:
    qs = WebhookDelivery.objects.filter(tenant=tenant)
    if subscription is not None:
        qs = qs.filter(subscription=subscription)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def webhook_delivery_get(*, tenant: Tenant, delivery_id: Any) -> WebhookDelivery:
    return _get(WebhookDelivery.objects.filter(tenant=tenant).select_related("subscription"),
                delivery_id, _("No such delivery."))
