"""Event promotion: announce a dated item and remind people before it starts, through
scheduled campaigns that follow the item.

Anything with a start time can be promoted: a module registers how to read its items with
`register_promotable(item_type, reader)`; marketing's own `PromotedItem` is
"marketing.item". A promotion owns one ONE_TIME campaign (kind PROMOTION) per send — the
announcement at `announce_at` and a reminder `d` days before the start for each `d` in
`reminder_days` (default 7, 3, 1). `promotion_sync` makes the campaigns match the item: a
moved item reschedules the sends still to come (and cancels those now in the past), a
cancelled item cancels them all. Modules call `promotion_item_changed` after changing an
item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.marketing.models import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignType,
    EventPromotion,
    PromotedItem,
)
from tend.marketing.services import campaigns as campaign_services

DEFAULT_REMINDER_DAYS = (7, 3, 1)
OPEN_STATUSES = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED)


@dataclass(frozen=True)
class PromotableInfo:
    """What promotion needs to know of an item."""

    title: str
    starts_at: datetime
    cancelled: bool = False
    context: dict[str, Any] = field(default_factory=dict)  # the `item` template variables


Reader = Callable[[Tenant, str], PromotableInfo | None]
_readers: dict[str, Reader] = {}


def register_promotable(item_type: str, reader: Reader) -> None:
    """Let items of `item_type` be promoted; `reader(tenant, item_id)` returns their facts
    (None when the item is gone)."""
    _readers[item_type] = reader


def _read_item(tenant: Tenant, item_id: str) -> PromotableInfo | None:
    item = PromotedItem.objects.filter(tenant=tenant, pk=item_id).first()
    if item is None:
        return None
    local = timezone.localtime(item.starts_at)
    return PromotableInfo(title=item.title, starts_at=item.starts_at,
                          cancelled=item.is_cancelled,
                          context={"title": item.title, "starts_at": local.isoformat(),
                                   "date": date_format(local, "DATE_FORMAT"),
                                   "time": date_format(local, "TIME_FORMAT"),
                                   "place": item.place, "url": item.url,
                                   "description": item.description[:500]})


register_promotable("marketing.item", _read_item)


def _clean_days(value: Any) -> list[int]:
    if value is None:
        return list(DEFAULT_REMINDER_DAYS)
    if not isinstance(value, list | tuple) or not all(
            isinstance(d, int) and 0 <= d <= 365 for d in value):
        raise ValidationFailed(fields={"reminder_days": [
            _("Give whole numbers of days between 0 and 365.")]})
    return sorted(set(value), reverse=True)


# --- items ---------------------------------------------------------------------------------


def promoted_item_create(*, tenant: Tenant, actor: Actor, data: Mapping[str, Any]
                         ) -> PromotedItem:
    """A dated item to promote. Needs `campaigns.add`."""
    check_perm(actor, "campaigns.add")
    values = _clean_item(data, require=True)
    with transaction.atomic():
        item = PromotedItem.objects.create(tenant=tenant, created_by=actor.acting_user,
                                           **values)
        audit_record(tenant=tenant, actor=actor, action="promoted_item.created",
                     entity_type="marketing.promoteditem", entity_id=item.pk,
                     changes={"title": item.title})
    return item


def promoted_item_update(*, tenant: Tenant, actor: Actor, item: PromotedItem,
                         data: Mapping[str, Any]) -> PromotedItem:
    """Change an item (moving or cancelling it follows through to its promotions). Needs
    `campaigns.change`."""
    check_perm(actor, "campaigns.change")
    values = _clean_item(data, require=False)
    with transaction.atomic():
        for key, value in values.items():
            setattr(item, key, value)
        item.save()
        audit_record(tenant=tenant, actor=actor, action="promoted_item.updated",
                     entity_type="marketing.promoteditem", entity_id=item.pk,
                     changes={"fields": sorted(values)})
        promotion_item_changed(tenant=tenant, actor=actor, item_type="marketing.item",
                               item_id=str(item.pk))
    return item


def _clean_item(data: Mapping[str, Any], *, require: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if require or "title" in data:
        title = str(data.get("title") or "").strip()
        if not title or len(title) > 200:
            errors["title"] = [_("Give a title (at most 200 characters).")]
        out["title"] = title
    if require or "starts_at" in data:
        starts_at = data.get("starts_at")
        if not isinstance(starts_at, datetime):
            errors["starts_at"] = [_("Give a date and time.")]
        else:
            out["starts_at"] = (timezone.make_aware(starts_at) if timezone.is_naive(starts_at)
                                else starts_at)
    for key, limit in (("place", 200), ("url", 500), ("description", 5000)):
        if key in data:
            value = str(data.get(key) or "").strip()
            if len(value) > limit:
                errors[key] = [_("Too long.")]
            if key == "url" and value and not value.startswith(("http://", "https://")):
                errors[key] = [_("Give a web address starting with https://.")]
            out[key] = value
    if "is_cancelled" in data:
        out["is_cancelled"] = bool(data["is_cancelled"])
    if errors:
        raise ValidationFailed(fields=errors)
    return out


# --- promotions ----------------------------------------------------------------------------


def promotion_create(*, tenant: Tenant, actor: Actor, item_type: str, item_id: str,
                     data: Mapping[str, Any]) -> EventPromotion:
    """Promote an item: `data` has `channels` and `segment_ids` (as a campaign's),
    `announce_at` (optional) and `reminder_days` (default 7, 3, 1). Creates and schedules
    the campaigns at once. Needs `campaigns.add` and `campaigns.send`."""
    check_perm(actor, "campaigns.add", "campaigns.send")
    reader = _readers.get(item_type)
    info = reader(tenant, item_id) if reader is not None else None
    if info is None:
        raise ValidationFailed(fields={"item_id": [_("No such item to promote.")]})
    errors: dict[str, list[str]] = {}
    probe = campaign_services._clean(tenant, {"name": info.title,
                                              "segment_ids": data.get("segment_ids") or [],
                                              "channels": data.get("channels") or []}, None)
    if not probe["segment_ids"]:
        errors["segment_ids"] = [_("Choose at least one segment.")]
    if not probe["channels"]:
        errors["channels"] = [_("Choose at least one channel.")]
    announce_at = data.get("announce_at")
    if announce_at is not None and not isinstance(announce_at, datetime):
        errors["announce_at"] = [_("Give a date and time.")]
    if errors:
        raise ValidationFailed(fields=errors)
    days = _clean_days(data.get("reminder_days"))
    if EventPromotion.objects.filter(tenant=tenant, item_type=item_type,
                                     item_id=item_id).exists():
        raise ValidationFailed(fields={"item_id": [_("This item is promoted already.")]})
    with transaction.atomic():
        promotion = EventPromotion.objects.create(
            tenant=tenant, item_type=item_type, item_id=item_id, item_title=info.title[:200],
            announce_at=announce_at, reminder_days=days, segment_ids=probe["segment_ids"],
            channels=probe["channels"], created_by=actor.acting_user)
        audit_record(tenant=tenant, actor=actor, action="promotion.created",
                     entity_type="marketing.eventpromotion", entity_id=promotion.pk,
                     changes={"item": f"{item_type}:{item_id}", "reminder_days": days})
        promotion_sync(tenant=tenant, actor=actor, promotion=promotion, info=info)
    return promotion


def _wanted(promotion: EventPromotion, info: PromotableInfo, now: datetime
            ) -> dict[str, datetime]:
    sends: dict[str, datetime] = {}
    if promotion.announce_at is not None and promotion.announce_at > now:
        sends["announce"] = promotion.announce_at
    for days in promotion.reminder_days or []:
        at = info.starts_at - timedelta(days=int(days))
        if at > now:
            sends[f"remind:{int(days)}"] = at
    return sends


def _name(info: PromotableInfo, key: str) -> str:
    if key == "announce":
        return _("%(title)s: announcement") % {"title": info.title}
    days = int(key.split(":")[1])
    return _("%(title)s: reminder %(days)d days before") % {"title": info.title, "days": days}


def promotion_sync(*, tenant: Tenant, actor: Actor, promotion: EventPromotion,
                   info: PromotableInfo | None = None) -> dict[str, int]:
    """Make the promotion's campaigns match its item now; returns how many were created,
    moved and cancelled."""
    if info is None:
        reader = _readers.get(promotion.item_type)
        info = reader(tenant, promotion.item_id) if reader is not None else None
    now = timezone.now()
    existing = {c.promotion_key: c for c in Campaign.objects.filter(
        tenant=tenant, promotion=promotion, status__in=OPEN_STATUSES)}
    done = {"created": 0, "moved": 0, "cancelled": 0}
    wanted = ({} if info is None or info.cancelled or not promotion.is_active
              else _wanted(promotion, info, now))
    for key, campaign in existing.items():
        if key not in wanted:
            campaign_services.campaign_cancel(tenant=tenant, actor=actor, campaign=campaign,
                                              reason="promotion")
            done["cancelled"] += 1
    if info is None or info.cancelled:
        promotion.is_active = False
    promotion.synced_starts_at = info.starts_at if info is not None else None
    if info is not None:
        promotion.item_title = info.title[:200]
    promotion.save()
    for key, at in wanted.items():
        assert info is not None  # nothing is wanted without an item
        current = existing.get(key)
        if current is not None:
            campaign = current
            if campaign.scheduled_at != at or campaign.context != info.context:
                campaign.scheduled_at = at
                campaign.context = info.context
                campaign.name = _name(info, key)
                campaign.next_run_at = (campaign_services.next_run_time(campaign, after=now)
                                        if campaign.status == CampaignStatus.SCHEDULED
                                        else None)
                campaign.save(update_fields=["scheduled_at", "context", "name", "next_run_at",
                                             "updated_at"])
                done["moved"] += 1
            continue
        campaign = Campaign.objects.create(
            tenant=tenant, name=_name(info, key)[:200], kind=CampaignKind.PROMOTION,
            type=CampaignType.ONE_TIME, segment_ids=promotion.segment_ids,
            channels=promotion.channels, context=info.context, context_label=info.title[:200],
            scheduled_at=at, promotion=promotion, promotion_key=key,
            created_by=actor.acting_user)
        campaign_services.campaign_launch(tenant=tenant, actor=actor, campaign=campaign)
        done["created"] += 1
    return done


def promotion_item_changed(*, tenant: Tenant, actor: Actor, item_type: str,
                           item_id: str) -> None:
    """An item was moved, renamed or cancelled: bring its promotions along."""
    for promotion in EventPromotion.objects.filter(tenant=tenant, item_type=item_type,
                                                   item_id=item_id, is_active=True):
        promotion_sync(tenant=tenant, actor=actor, promotion=promotion)


def promotion_stop(*, tenant: Tenant, actor: Actor, promotion: EventPromotion
                   ) -> EventPromotion:
    """Stop promoting: the sends still to come are cancelled. Needs `campaigns.send`."""
    check_perm(actor, "campaigns.send")
    with transaction.atomic():
        promotion.is_active = False
        promotion.save(update_fields=["is_active", "updated_at"])
        promotion_sync(tenant=tenant, actor=actor, promotion=promotion)
    return promotion
