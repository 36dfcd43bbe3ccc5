"""Reads of campaigns: lists, one campaign, its runs, its report (activity over time and
clicks per link) and promotions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils.translation import gettext as _

from tend.core.models import Tenant
from tend.core.selectors.lookup import one_or_not_found
from tend.marketing.models import (
    Campaign,
    CampaignInteraction,
    CampaignRun,
    EventPromotion,
    InteractionType,
    PromotedItem,
)

SERIES_TYPES = (InteractionType.SENT, InteractionType.DELIVERED, InteractionType.OPENED,
                InteractionType.CLICKED)


def campaign_list(*, tenant: Tenant, status: str = "", search: str = "", kind: str = ""
                  ) -> QuerySet[Campaign]:
    """The organization's campaigns, newest first."""
    qs = Campaign.objects.filter(tenant=tenant)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("-created_at", "-id")


def _get(model: Any, tenant: Tenant, pk: Any, message: str) -> Any:
    return one_or_not_found(model.objects.filter(tenant=tenant), pk, message)


def campaign_get(*, tenant: Tenant, campaign_id: Any) -> Campaign:
    """One campaign of `tenant`, or NotFound."""
    return _get(Campaign, tenant, campaign_id, _("No such campaign."))


def campaign_runs(*, tenant: Tenant, campaign: Campaign) -> QuerySet[CampaignRun]:
    return CampaignRun.objects.filter(tenant=tenant, campaign=campaign).order_by("-number")


def campaign_series(*, tenant: Tenant, campaign: Campaign, bucket: str = "day"
                    ) -> list[dict[str, Any]]:
    """Sent, delivered, opened and clicked per hour or day: `[{"at", "SENT": n, …}]`, oldest
    first, only the buckets with something in them."""
    trunc = TruncHour if bucket == "hour" else TruncDay
    rows = (CampaignInteraction.objects
            .filter(tenant=tenant, campaign=campaign, type__in=SERIES_TYPES)
            .annotate(at=trunc("occurred_at")).values("at", "type")
            .annotate(n=Count("id")).order_by("at"))
    points: dict[datetime, dict[str, Any]] = {}
    for row in rows:
        point = points.setdefault(row["at"], {"at": row["at"], **dict.fromkeys(SERIES_TYPES, 0)})
        point[row["type"]] = row["n"]
    return list(points.values())


def campaign_link_clicks(*, tenant: Tenant, campaign: Campaign) -> list[dict[str, Any]]:
    """Clicks per tracked link (all clicks, and distinct people), most clicked first."""
    rows = (CampaignInteraction.objects
            .filter(tenant=tenant, campaign=campaign, type=InteractionType.CLICKED)
            .values("link").annotate(clicks=Count("id"),
                                     people=Count("contact", distinct=True))
            .order_by("-clicks", "link"))
    return [{"link": r["link"], "clicks": r["clicks"], "people": r["people"]} for r in rows]


def campaign_interactions(*, tenant: Tenant, campaign: Campaign, actor: Any = None
                          ) -> QuerySet[CampaignInteraction]:
    """What happened to the campaign's messages per recipient; given `actor`, only the
    recipients the actor may see (`people.visibility`)."""
    from tend.people.visibility import contact_scope_filter

    qs = CampaignInteraction.objects.filter(tenant=tenant, campaign=campaign)
    scope = contact_scope_filter(tenant=tenant, actor=actor)
    if scope is not None:
        qs = qs.filter(scope)
    return qs.order_by("-occurred_at", "-id")


def promoted_item_list(*, tenant: Tenant) -> QuerySet[PromotedItem]:
    return PromotedItem.objects.filter(tenant=tenant).order_by("starts_at", "id")


def promoted_item_get(*, tenant: Tenant, item_id: Any) -> PromotedItem:
    return _get(PromotedItem, tenant, item_id, _("No such item."))


def promotion_list(*, tenant: Tenant) -> QuerySet[EventPromotion]:
    return EventPromotion.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def promotion_get(*, tenant: Tenant, promotion_id: Any) -> EventPromotion:
    return _get(EventPromotion, tenant, promotion_id, _("No such promotion."))
