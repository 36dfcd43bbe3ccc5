"""Campaigns, announcements and event promotion: CRUD, the live audience count and preview
the wizard uses, launch / pause / resume / cancel, the report (statistics, activity over
time, clicks per link), runs and interactions; dated items and their promotions."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.marketing.models import Campaign
from tend.marketing.selectors.campaigns import (
    campaign_get,
    campaign_interactions,
    campaign_link_clicks,
    campaign_list,
    campaign_runs,
    campaign_series,
    promoted_item_get,
    promoted_item_list,
    promotion_get,
    promotion_list,
)
from tend.marketing.services import campaigns as svc
from tend.marketing.services import promotion as promo
from tend.marketing.services.campaigns_fanout import audience_count
from tend.marketing.services.tracking import campaign_stats
from tend.people.selectors.contacts import contact_get

router = Router(tags=["Campaigns"])


class ChannelSpec(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(description="EMAIL, SMS, WHATSAPP, TELEGRAM or WEB")
    template_key: str = Field("", max_length=100,
                              description="A published messaging template; or subject + body")
    subject: str = Field("", max_length=300)
    body: str = Field("", max_length=10_000)
    consent_required: bool = Field(True, description="MARKETING: needs opt-in on the channel")


class CampaignOut(Schema):
    id: UUID
    name: str
    description: str
    type: str
    kind: str
    status: str
    segment_ids: list[str]
    exclude_segment_ids: list[str]
    channels: list[dict[str, Any]]
    context: dict[str, Any]
    context_label: str
    scheduled_at: dt.datetime | None
    cron: str
    time_zone: str
    end_at: dt.datetime | None
    send_local_time: bool
    throttle_per_minute: int | None
    trigger_activity_type: str
    trigger_rule: dict[str, Any]
    conversion_activity_type: str
    conversion_days: int
    next_run_at: dt.datetime | None
    run_count: int
    launched_at: dt.datetime | None
    completed_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    promotion_id: UUID | None
    target_count: int
    sent_count: int
    delivered_count: int
    opened_count: int
    clicked_count: int
    converted_count: int
    unsubscribed_count: int
    bounced_count: int
    failed_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class CampaignFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    type: str | None = Field(None, description="ONE_TIME, RECURRING, TRIGGERED or JOURNEY")
    kind: str | None = Field(None, description="CAMPAIGN, ANNOUNCEMENT or PROMOTION")
    segment_ids: list[UUID] | None = None
    exclude_segment_ids: list[UUID] | None = None
    channels: list[ChannelSpec] | None = None
    context: dict[str, Any] | None = Field(None, description="Announcement: {{ item.<name> }}")
    context_label: str | None = Field(None, max_length=200)
    scheduled_at: dt.datetime | None = None
    cron: str | None = Field(None, max_length=100)
    time_zone: str | None = Field(None, max_length=64)
    end_at: dt.datetime | None = None
    send_local_time: bool | None = None
    throttle_per_minute: int | None = None
    trigger_activity_type: str | None = Field(None, max_length=100)
    trigger_rule: dict[str, Any] | None = None
    conversion_activity_type: str | None = Field(None, max_length=100)
    conversion_days: int | None = None


class CampaignIn(CampaignFields):
    name: str = Field(max_length=200)


def _data(payload: CampaignFields) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True)
    for key in ("segment_ids", "exclude_segment_ids"):
        if data.get(key) is not None:
            data[key] = [str(v) for v in data[key]]
    return data


class CampaignFilter(Schema):
    q: str | None = Field(None, max_length=200)
    status: str | None = None
    kind: str | None = None


class AudienceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    segment_ids: list[UUID] = Field(max_length=100)
    exclude_segment_ids: list[UUID] = Field(default_factory=list, max_length=100)
    channels: list[ChannelSpec] = Field(default_factory=list, max_length=5)


class AudienceOut(Schema):
    total: int
    channels: dict[str, int]


class PreviewIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: ChannelSpec
    contact_id: UUID | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class PreviewOut(Schema):
    subject: str
    body: str


class StatsOut(Schema):
    target: int
    sent: int
    delivered: int
    opened: int
    clicked: int
    converted: int
    unsubscribed: int
    bounced: int
    failed: int
    delivery_rate: float
    open_rate: float
    click_rate: float
    click_to_open_rate: float
    conversion_rate: float
    unsubscribe_rate: float
    bounce_rate: float


class SeriesPoint(Schema):
    at: dt.datetime
    sent: int
    delivered: int
    opened: int
    clicked: int


class LinkClicks(Schema):
    link: str
    clicks: int
    people: int


class ReportOut(Schema):
    stats: StatsOut
    series: list[SeriesPoint]
    links: list[LinkClicks]


class RunOut(Schema):
    id: UUID
    number: int
    status: str
    due_at: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    channels: list[str]
    template_versions: dict[str, Any]
    context: dict[str, Any]
    target_count: int
    duration_ms: int
    error: str


class InteractionOut(Schema):
    id: UUID
    type: str
    channel: str
    contact_id: UUID | None
    message_id: UUID | None
    link: str
    device: str
    occurred_at: dt.datetime


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


# --- campaigns -----------------------------------------------------------------------------


@router.get("/campaigns", response=Page[CampaignOut])
def campaigns_list(request: ApiRequest, page: Query[PageParams],
                   filters: Query[CampaignFilter]):
    """The organization's campaigns, newest first. Needs `campaigns.view`."""
    require(request, "campaigns.view")
    qs = campaign_list(tenant=request.tenant, status=filters.status or "",
                       search=filters.q or "", kind=filters.kind or "")
    return paginate(qs, page, ordering=("-created_at", "-id"))


@router.post("/campaigns", response={201: CampaignOut})
def campaigns_create(request: ApiRequest, payload: CampaignIn):
    """Create a DRAFT campaign. Needs `campaigns.add`."""
    actor = require(request, "campaigns.add")
    return Status(201, svc.campaign_create(tenant=request.tenant, actor=actor,
                                           data=_data(payload)))


@router.post("/campaigns/audience", response=AudienceOut)
def campaigns_audience(request: ApiRequest, payload: AudienceIn):
    """How many contacts an audience reaches now, in total (after exclusions) and per
    channel (also reachable there, and consenting where required). Needs `campaigns.view`."""
    require(request, "campaigns.view")
    given = payload.model_dump()
    data = svc._clean(request.tenant, {
        "name": "-", "segment_ids": [str(v) for v in given["segment_ids"]],
        "exclude_segment_ids": [str(v) for v in given["exclude_segment_ids"]],
        "channels": given["channels"]}, None)
    probe = Campaign(tenant=request.tenant, segment_ids=data["segment_ids"],
                     exclude_segment_ids=data["exclude_segment_ids"],
                     channels=data.get("channels", []))
    counts = audience_count(tenant=request.tenant, campaign=probe)
    total = counts.pop("total")
    return {"total": total, "channels": counts}


@router.post("/campaigns/preview", response=PreviewOut)
def campaigns_preview(request: ApiRequest, payload: PreviewIn):
    """One channel's text for a contact (or with empty contact fields), announcement context
    included. Needs `campaigns.view` (and `contacts.view` with a contact)."""
    actor = require(request, "campaigns.view")
    contact = None
    if payload.contact_id is not None:
        require(request, "contacts.view")
        contact = contact_get(tenant=request.tenant, contact_id=payload.contact_id)
    return svc.campaign_preview(tenant=request.tenant, actor=actor,
                                channel=payload.channel.model_dump(), contact=contact,
                                context=payload.context)


@router.get("/campaigns/{campaign_id}", response=CampaignOut)
def campaigns_get(request: ApiRequest, campaign_id: UUID):
    """One campaign. Needs `campaigns.view`."""
    require(request, "campaigns.view")
    return campaign_get(tenant=request.tenant, campaign_id=campaign_id)


@router.patch("/campaigns/{campaign_id}", response=CampaignOut)
def campaigns_update(request: ApiRequest, campaign_id: UUID, payload: CampaignFields):
    """Change a draft, scheduled or paused campaign. Needs `campaigns.change`."""
    actor = require(request, "campaigns.change")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    return svc.campaign_update(tenant=request.tenant, actor=actor, campaign=campaign,
                               data=_data(payload))


@router.delete("/campaigns/{campaign_id}", response={204: None})
def campaigns_delete(request: ApiRequest, campaign_id: UUID):
    """Delete a campaign that never sent. Needs `campaigns.change`."""
    actor = require(request, "campaigns.change")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    svc.campaign_delete(tenant=request.tenant, actor=actor, campaign=campaign)
    return Status(204, None)


def _act(request: ApiRequest, campaign_id: UUID, action: Literal["launch", "pause", "resume"]
         ) -> Campaign:
    actor = require(request, "campaigns.send")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    func = {"launch": svc.campaign_launch, "pause": svc.campaign_pause,
            "resume": svc.campaign_resume}[action]
    return func(tenant=request.tenant, actor=actor, campaign=campaign)


@router.post("/campaigns/{campaign_id}/launch", response=CampaignOut)
def campaigns_launch(request: ApiRequest, campaign_id: UUID):
    """Launch a draft: scheduled for its send time (now when it has none), or ACTIVE for a
    triggered campaign. Needs `campaigns.send`."""
    return _act(request, campaign_id, "launch")


@router.post("/campaigns/{campaign_id}/pause", response=CampaignOut)
def campaigns_pause(request: ApiRequest, campaign_id: UUID):
    """Pause: no new run, queued messages held. Needs `campaigns.send`."""
    return _act(request, campaign_id, "pause")


@router.post("/campaigns/{campaign_id}/resume", response=CampaignOut)
def campaigns_resume(request: ApiRequest, campaign_id: UUID):
    """Resume: held messages go back to the queue (never sent twice). Needs
    `campaigns.send`."""
    return _act(request, campaign_id, "resume")


@router.post("/campaigns/{campaign_id}/cancel", response=CampaignOut)
def campaigns_cancel(request: ApiRequest, campaign_id: UUID, payload: CancelIn):
    """Cancel for good; messages not yet handed to a provider are discarded. Needs
    `campaigns.send`."""
    actor = require(request, "campaigns.send")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    return svc.campaign_cancel(tenant=request.tenant, actor=actor, campaign=campaign,
                               reason=payload.reason)


@router.get("/campaigns/{campaign_id}/report", response=ReportOut)
def campaigns_report(request: ApiRequest, campaign_id: UUID,
                     bucket: Literal["hour", "day"] = "day"):
    """Statistics now, sent/delivered/opened/clicked per hour or day, and clicks per link.
    Needs `campaigns.view`."""
    require(request, "campaigns.view")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    series = campaign_series(tenant=request.tenant, campaign=campaign, bucket=bucket)
    return {"stats": campaign_stats(tenant=request.tenant, campaign=campaign),
            "series": [{"at": p["at"], "sent": p["SENT"], "delivered": p["DELIVERED"],
                        "opened": p["OPENED"], "clicked": p["CLICKED"]} for p in series],
            "links": campaign_link_clicks(tenant=request.tenant, campaign=campaign)}


@router.get("/campaigns/{campaign_id}/runs", response=Page[RunOut])
def campaigns_runs(request: ApiRequest, campaign_id: UUID, page: Query[PageParams]):
    """The campaign's runs (dispatch records), newest first. Needs `campaigns.view`."""
    require(request, "campaigns.view")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    return paginate(campaign_runs(tenant=request.tenant, campaign=campaign), page,
                    ordering=("-number",))


@router.get("/campaigns/{campaign_id}/interactions", response=Page[InteractionOut])
def campaigns_interactions(request: ApiRequest, campaign_id: UUID, page: Query[PageParams]):
    """What happened to the campaign's messages, newest first. Needs `campaigns.view`."""
    actor = require(request, "campaigns.view")
    campaign = campaign_get(tenant=request.tenant, campaign_id=campaign_id)
    return paginate(campaign_interactions(tenant=request.tenant, campaign=campaign,
                                          actor=actor), page,
                    ordering=("-occurred_at", "-id"))


# --- dated items and promotions ------------------------------------------------------------


class ItemOut(Schema):
    id: UUID
    title: str
    starts_at: dt.datetime
    place: str
    url: str
    description: str
    is_cancelled: bool


class ItemFields(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    starts_at: dt.datetime | None = None
    place: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=500)
    description: str | None = Field(None, max_length=5000)
    is_cancelled: bool | None = None


class ItemIn(ItemFields):
    title: str = Field(max_length=200)
    starts_at: dt.datetime


class PromotionOut(Schema):
    id: UUID
    item_type: str
    item_id: str
    item_title: str
    is_active: bool
    announce_at: dt.datetime | None
    reminder_days: list[int]
    segment_ids: list[str]
    channels: list[dict[str, Any]]
    synced_starts_at: dt.datetime | None
    campaign_ids: list[UUID]


class PromotionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    item_type: str = Field("marketing.item", max_length=50)
    item_id: str = Field(max_length=64)
    announce_at: dt.datetime | None = None
    reminder_days: list[int] | None = Field(None, max_length=20)
    segment_ids: list[UUID] = Field(max_length=100)
    channels: list[ChannelSpec] = Field(max_length=5)


def _promotion(promotion: Any) -> dict[str, Any]:
    return {**{k: getattr(promotion, k) for k in (
        "id", "item_type", "item_id", "item_title", "is_active", "announce_at",
        "reminder_days", "segment_ids", "channels", "synced_starts_at")},
        "campaign_ids": list(promotion.campaigns.order_by("scheduled_at")
                             .values_list("pk", flat=True))}


@router.get("/promoted-items", response=Page[ItemOut])
def items_list(request: ApiRequest, page: Query[PageParams]):
    """Dated items that can be promoted. Needs `campaigns.view`."""
    require(request, "campaigns.view")
    return paginate(promoted_item_list(tenant=request.tenant), page,
                    ordering=("starts_at", "id"))


@router.post("/promoted-items", response={201: ItemOut})
def items_create(request: ApiRequest, payload: ItemIn):
    """A dated item to promote. Needs `campaigns.add`."""
    actor = require(request, "campaigns.add")
    return Status(201, promo.promoted_item_create(
        tenant=request.tenant, actor=actor, data=payload.model_dump(exclude_unset=True)))


@router.patch("/promoted-items/{item_id}", response=ItemOut)
def items_update(request: ApiRequest, item_id: UUID, payload: ItemFields):
    """Change an item; moving or cancelling it reschedules or cancels its promotions'
    campaigns. Needs `campaigns.change`."""
    actor = require(request, "campaigns.change")
    item = promoted_item_get(tenant=request.tenant, item_id=item_id)
    return promo.promoted_item_update(tenant=request.tenant, actor=actor, item=item,
                                      data=payload.model_dump(exclude_unset=True))


@router.get("/promotions", response=list[PromotionOut])
def promotions_list(request: ApiRequest):
    """Every promotion with its campaigns. Needs `campaigns.view`."""
    require(request, "campaigns.view")
    return [_promotion(p) for p in promotion_list(tenant=request.tenant)[:500]]


@router.post("/promotions", response={201: PromotionOut})
def promotions_create(request: ApiRequest, payload: PromotionIn):
    """Promote a dated item: an announcement and reminders before it starts, as scheduled
    campaigns. Needs `campaigns.add` and `campaigns.send`."""
    actor = require(request, "campaigns.add", "campaigns.send")
    data = payload.model_dump()
    data["segment_ids"] = [str(v) for v in data["segment_ids"]]
    if payload.item_type == "marketing.item":
        promoted_item_get(tenant=request.tenant, item_id=payload.item_id)
    promotion = promo.promotion_create(tenant=request.tenant, actor=actor,
                                       item_type=payload.item_type, item_id=payload.item_id,
                                       data=data)
    return Status(201, _promotion(promotion))


@router.get("/promotions/{promotion_id}", response=PromotionOut)
def promotions_get(request: ApiRequest, promotion_id: UUID):
    """One promotion. Needs `campaigns.view`."""
    require(request, "campaigns.view")
    return _promotion(promotion_get(tenant=request.tenant, promotion_id=promotion_id))


@router.post("/promotions/{promotion_id}/stop", response=PromotionOut)
def promotions_stop(request: ApiRequest, promotion_id: UUID):
    """Stop promoting; the sends still to come are cancelled. Needs `campaigns.send`."""
    actor = require(request, "campaigns.send")
    promotion = promotion_get(tenant=request.tenant, promotion_id=promotion_id)
    return _promotion(promo.promotion_stop(tenant=request.tenant, actor=actor,
                                           promotion=promotion))
