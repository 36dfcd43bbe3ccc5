"""Marketing → Event promotion: dated items, and promoting one (an announcement and
reminders before it starts, as scheduled campaigns); moving or cancelling an item follows
through to its campaigns."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tend.core.errors import TendError
from tend.core.views.base import require_perm
from tend.marketing.models import Campaign, EventPromotion, Segment
from tend.marketing.selectors.campaigns import promoted_item_get, promoted_item_list
from tend.marketing.services import promotion as promo
from tend.marketing.views.automation_base import when
from tend.marketing.views.campaigns import _channels_data, _ids
from tend.messaging.choices import ChannelKind


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(reverse("marketing:promotions",
                            kwargs={"org_slug": request.tenant.slug}))  # type: ignore[attr-defined]


def _problems(exc: TendError) -> str:
    return " ".join(str(m) for v in exc.fields.values() for m in v) or exc.message


@require_perm("campaigns.view")
def promotions(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Dated items with their promotions and the campaigns those made."""
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    items = list(promoted_item_list(tenant=tenant)[:200])
    by_item = {p.item_id: p for p in EventPromotion.objects.filter(
        tenant=tenant, item_type="marketing.item", item_id__in=[str(i.pk) for i in items])}
    campaigns: dict[Any, list[Campaign]] = {}
    for campaign in Campaign.objects.filter(tenant=tenant, promotion__in=by_item.values()
                                            ).order_by("scheduled_at"):
        campaigns.setdefault(campaign.promotion_id, []).append(campaign)
    rows = []
    for item in items:
        promotion = by_item.get(str(item.pk))
        rows.append({"item": item, "promotion": promotion,
                     "campaigns": campaigns.get(promotion.pk, []) if promotion else []})
    return render(request, "marketing/campaign_promotions.html", {
        "rows": rows, "segments": list(Segment.objects.filter(tenant=tenant, is_active=True)
                                       .order_by("name")),
        "channels": ChannelKind.choices,
        "can_add": actor.has_perm("campaigns.add") and actor.has_perm("campaigns.send")})


@require_perm("campaigns.add")
@require_POST
def items_create(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    try:
        promo.promoted_item_create(tenant=tenant, actor=actor, data={
            "title": request.POST.get("title", ""),
            "starts_at": when(request.POST.get("starts_at", "")),
            "place": request.POST.get("place", ""), "url": request.POST.get("url", "")})
    except TendError as exc:
        messages.error(request, _problems(exc))
    return _back(request)


@require_perm("campaigns.change")
@require_POST
def items_update(request: HttpRequest, org_slug: str, item_id: UUID) -> HttpResponse:
    """Move an item (a new start) or cancel it."""
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    item = promoted_item_get(tenant=tenant, item_id=item_id)
    data: dict[str, Any] = {}
    if request.POST.get("cancel"):
        data["is_cancelled"] = True
    if request.POST.get("starts_at"):
        data["starts_at"] = when(request.POST["starts_at"])
    try:
        promo.promoted_item_update(tenant=tenant, actor=actor, item=item, data=data)
        messages.success(request, _("Saved; its promotion follows."))
    except TendError as exc:
        messages.error(request, _problems(exc))
    return _back(request)


@require_perm("campaigns.add", "campaigns.send")
@require_POST
def items_promote(request: HttpRequest, org_slug: str, item_id: UUID) -> HttpResponse:
    tenant, actor = request.tenant, request.actor  # type: ignore[attr-defined]
    item = promoted_item_get(tenant=tenant, item_id=item_id)
    try:
        days = [int(d) for d in request.POST.get("reminder_days", "7,3,1").replace(
            " ", "").split(",") if d]
    except ValueError:
        days = [-1]
    try:
        promo.promotion_create(tenant=tenant, actor=actor, item_type="marketing.item",
                               item_id=str(item.pk), data={
                                   "segment_ids": _ids(request, "segment_ids"),
                                   "channels": _channels_data(request),
                                   "announce_at": when(request.POST.get("announce_at", "")),
                                   "reminder_days": days})
        messages.success(request, _("Promotion scheduled."))
    except TendError as exc:
        messages.error(request, _problems(exc))
    return _back(request)


prefix = "o/<slug:org_slug>/marketing/promotion/"
urlpatterns = [
    path(prefix, promotions, name="promotions"),
    path(f"{prefix}items/", items_create, name="promotions-item-create"),
    path(f"{prefix}items/<uuid:item_id>/", items_update, name="promotions-item-update"),
    path(f"{prefix}items/<uuid:item_id>/promote/", items_promote, name="promotions-promote"),
]
