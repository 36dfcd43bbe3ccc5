"""What happens to campaign messages after they are queued: `CampaignInteraction` rows, and the
statistics computed from them.

- Status changes of campaign messages (`message_status_changed`) become SENT, DELIVERED,
  FAILED and BOUNCED rows; a READ receipt (WhatsApp, Telegram) counts as OPENED. A callback
  that skips a step (READ straight after SENT) records the steps it implies.
- Opens of HTML email (the pixel) and clicks (links rewritten to `/t/<token>/…/l/<n>/`) come
  through the public tracking views. The token is signed and names the organization and the
  campaign; the link number points into the campaign's own list of links, so the redirect can
  only lead where the campaign's text pointed. A click also counts as an open.
- An activity of the campaign's conversion type within `conversion_days` after a message was
  sent to the contact is a conversion (once per contact and campaign).
- A MARKETING consent revoked on a channel (the one-click unsubscribe, or any other way) is
  an unsubscribe of the latest campaign that reached the person on that channel in the last
  30 days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.db.models import Count
from django.utils import timezone

from tend.core.models import Tenant
from tend.marketing.models import (
    Campaign,
    CampaignInteraction,
    CampaignStatus,
    CampaignType,
    InteractionType,
)
from tend.marketing.services.campaigns_fanout import SOURCE, dedupe_key
from tend.messaging.choices import DELIVERY_ORDER, MessageStatus
from tend.messaging.models import Message

SALT = "tend.marketing.tracking"
UNSUBSCRIBE_WINDOW = timedelta(days=30)
IT = InteractionType


def tracking_token(*, tenant_id: Any, campaign_id: Any) -> str:
    """The signed token of one campaign's tracking URLs."""
    return signing.dumps([str(tenant_id).replace("-", ""), str(campaign_id).replace("-", "")],
                         salt=SALT, compress=True)


def tracking_read(token: str) -> tuple[str, str]:
    """(tenant id, campaign id) of a token; `signing.BadSignature` if it was not made here."""
    value = signing.loads(token, salt=SALT)
    if not isinstance(value, list) or len(value) != 2:
        raise signing.BadSignature("bad tracking token")
    return str(value[0]), str(value[1])


_MOBILE = re.compile(r"Mobi|Android|iPhone|iPod", re.I)
_TABLET = re.compile(r"iPad|Tablet", re.I)
_BOT = re.compile(r"bot|spider|crawl|preview|proxy|scanner", re.I)


def device_of(user_agent: str) -> str:
    """A rough device class from a user agent: bot, tablet, mobile, desktop (or "")."""
    if not user_agent:
        return ""
    if _BOT.search(user_agent):
        return "bot"
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def _record(*, tenant: Tenant, campaign_id: Any, message: Message | None, contact_id: Any,
            types: Iterable[str], channel: str, at: datetime, link: str = "",
            device: str = "") -> list[CampaignInteraction]:
    rows = [CampaignInteraction(tenant=tenant, campaign_id=campaign_id, message=message,
                                contact_id=contact_id, type=t, channel=channel, link=link[:2000],
                                device=device, occurred_at=at) for t in types]
    return CampaignInteraction.objects.bulk_create(rows) if rows else []


def _campaign_of(message: Message) -> str | None:
    if message.source != SOURCE or not isinstance(message.metadata, dict):
        return None
    return message.metadata.get("campaign") or None


# --- message status ------------------------------------------------------------------------


def on_message_status(*, tenant: Tenant, message: Message, status: str, previous: str) -> None:
    """Record the interactions a campaign message's status change implies."""
    campaign_id = _campaign_of(message)
    if campaign_id is None:
        return
    types: list[str] = []
    reached, before = DELIVERY_ORDER.get(status, 0), DELIVERY_ORDER.get(previous, 0)
    for order, kind in ((1, IT.SENT), (2, IT.DELIVERED), (3, IT.OPENED)):
        if before < order <= reached:
            types.append(kind)
    if status in (MessageStatus.FAILED, MessageStatus.DEAD):
        types.append(IT.FAILED)
    elif status == MessageStatus.BOUNCED:
        types.append(IT.BOUNCED)
    if IT.OPENED in types and CampaignInteraction.objects.filter(
            tenant=tenant, message=message, type=IT.OPENED).exists():
        types.remove(IT.OPENED)
    _record(tenant=tenant, campaign_id=campaign_id, message=message,
            contact_id=message.contact_id, types=types, channel=message.channel,
            at=timezone.now())


# --- opens and clicks ----------------------------------------------------------------------


def _message_for(tenant: Tenant, campaign_id: Any, channel: str, run_key: str,
                 contact_hex: str) -> Message | None:
    key = dedupe_key(campaign_id, run_key, contact_hex, channel)
    return Message.objects.filter(tenant=tenant, dedupe_key=key).first()


def open_record(*, tenant: Tenant, campaign: Campaign, channel: str, run_key: str,
                contact_hex: str, user_agent: str = "") -> bool:
    """Record the first open of a campaign message (the pixel); later opens are ignored.
    Returns whether it was the first."""
    message = _message_for(tenant, campaign.pk, channel, run_key, contact_hex)
    if message is None:
        return False
    if CampaignInteraction.objects.filter(tenant=tenant, message=message,
                                          type=IT.OPENED).exists():
        return False
    _record(tenant=tenant, campaign_id=campaign.pk, message=message,
            contact_id=message.contact_id, types=[IT.OPENED], channel=channel,
            at=timezone.now(), device=device_of(user_agent))
    return True


def click_record(*, tenant: Tenant, campaign: Campaign, channel: str, run_key: str,
                 contact_hex: str, link_number: int, user_agent: str = "") -> str | None:
    """Record a click on the campaign's link `link_number` and return its URL (None when the
    campaign has no such link). Every click is a row; the first one of a message that was not
    opened yet also records the open."""
    links = campaign.links or []
    if not 0 <= link_number < len(links):
        return None
    url = str(links[link_number])
    message = _message_for(tenant, campaign.pk, channel, run_key, contact_hex)
    if message is not None:
        device = device_of(user_agent)
        types = [IT.CLICKED]
        if not CampaignInteraction.objects.filter(tenant=tenant, message=message,
                                                  type=IT.OPENED).exists():
            types.insert(0, IT.OPENED)
        _record(tenant=tenant, campaign_id=campaign.pk, message=message,
                contact_id=message.contact_id, types=types, channel=channel,
                at=timezone.now(), link=url, device=device)
    return url


# --- conversions, unsubscribes, triggers ---------------------------------------------------


def on_activity(*, tenant: Tenant, activity: Any) -> None:
    """React to a new activity: send triggered campaigns, count conversions and
    unsubscribes. Costs one indexed query when no campaign cares about the activity."""
    if activity.contact_id is None:
        return
    if activity.type == "CONSENT_CHANGED":
        _maybe_unsubscribe(tenant, activity)
    wanted = list(Campaign.objects.filter(tenant=tenant, trigger_activity_type=activity.type,
                                          type=CampaignType.TRIGGERED,
                                          status=CampaignStatus.ACTIVE))
    if wanted:
        from tend.marketing.services.campaigns import campaign_trigger

        for campaign in wanted:
            campaign_trigger(tenant=tenant, campaign=campaign, activity=activity)
    converting = dict(Campaign.objects.filter(
        tenant=tenant, conversion_activity_type=activity.type).exclude(
        status__in=[CampaignStatus.DRAFT, CampaignStatus.CANCELLED]).values_list(
        "pk", "conversion_days"))
    if converting:
        _maybe_convert(tenant, activity, {str(k): v for k, v in converting.items()})


def _maybe_convert(tenant: Tenant, activity: Any, days: dict[str, int]) -> None:
    at = activity.occurred_at
    since = at - timedelta(days=max(days.values()))
    sent = (Message.objects.filter(tenant=tenant, contact_id=activity.contact_id, source=SOURCE,
                                   sent_at__gte=since, sent_at__lte=at)
            .order_by("-sent_at").only("pk", "metadata", "channel", "sent_at", "contact_id"))
    done: set[str] = set()
    for message in sent:
        campaign_id = _campaign_of(message)
        if (campaign_id not in days or campaign_id in done or message.sent_at is None
                or message.sent_at < at - timedelta(days=days[campaign_id])):
            continue
        done.add(campaign_id)
        if CampaignInteraction.objects.filter(tenant=tenant, campaign_id=campaign_id,
                                              contact_id=activity.contact_id,
                                              type=IT.CONVERTED).exists():
            continue
        _record(tenant=tenant, campaign_id=campaign_id, message=message,
                contact_id=activity.contact_id, types=[IT.CONVERTED], channel=message.channel,
                at=at, link=activity.type)


def _maybe_unsubscribe(tenant: Tenant, activity: Any) -> None:
    meta = activity.metadata or {}
    if meta.get("purpose") != "MARKETING" or meta.get("status") != "REVOKED":
        return
    at = activity.occurred_at
    message = (Message.objects.filter(tenant=tenant, contact_id=activity.contact_id,
                                      source=SOURCE, channel=activity.channel,
                                      queued_at__gte=at - UNSUBSCRIBE_WINDOW)
               .order_by("-queued_at").first())
    campaign_id = _campaign_of(message) if message is not None else None
    if campaign_id is None or CampaignInteraction.objects.filter(
            tenant=tenant, campaign_id=campaign_id, contact_id=activity.contact_id,
            type=IT.UNSUBSCRIBED).exists():
        return
    _record(tenant=tenant, campaign_id=campaign_id, message=message,
            contact_id=activity.contact_id, types=[IT.UNSUBSCRIBED],
            channel=activity.channel, at=at)


# --- statistics ----------------------------------------------------------------------------

COUNTED = (IT.SENT, IT.DELIVERED, IT.OPENED, IT.CLICKED, IT.CONVERTED, IT.UNSUBSCRIBED, IT.BOUNCED,
           IT.FAILED)


def campaign_stats(*, tenant: Tenant, campaign: Campaign) -> dict[str, Any]:
    """The campaign's numbers now: target, and messages sent, delivered, opened, clicked,
    bounced, failed; contacts converted and unsubscribed; and rates (per cent of sent, or of
    delivered for opens; clicks per opened)."""
    counts: dict[str, int] = {str(t): 0 for t in COUNTED}
    rows = (CampaignInteraction.objects.filter(tenant=tenant, campaign=campaign)
            .values("type").annotate(n=Count("message", distinct=True)).order_by())
    for row in rows:
        counts[row["type"]] = row["n"]
    for kind in (IT.CONVERTED, IT.UNSUBSCRIBED):
        counts[kind] = (CampaignInteraction.objects.filter(tenant=tenant, campaign=campaign,
                                                           type=kind)
                        .values("contact").distinct().count())

    def rate(part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0

    sent = counts[IT.SENT]
    return {
        "target": campaign.target_count,
        "sent": sent, "delivered": counts[IT.DELIVERED], "opened": counts[IT.OPENED],
        "clicked": counts[IT.CLICKED], "converted": counts[IT.CONVERTED],
        "unsubscribed": counts[IT.UNSUBSCRIBED], "bounced": counts[IT.BOUNCED],
        "failed": counts[IT.FAILED],
        "delivery_rate": rate(counts[IT.DELIVERED], sent),
        "open_rate": rate(counts[IT.OPENED], counts[IT.DELIVERED] or sent),
        "click_rate": rate(counts[IT.CLICKED], sent),
        "click_to_open_rate": rate(counts[IT.CLICKED], counts[IT.OPENED]),
        "conversion_rate": rate(counts[IT.CONVERTED], sent),
        "unsubscribe_rate": rate(counts[IT.UNSUBSCRIBED], sent),
        "bounce_rate": rate(counts[IT.BOUNCED], sent),
    }


def campaign_stats_refresh(*, tenant: Tenant, campaign: Campaign) -> dict[str, Any]:
    """Compute the statistics and keep them on the campaign (the list shows them)."""
    stats = campaign_stats(tenant=tenant, campaign=campaign)
    values = {f"{k}_count": stats[k] for k in ("sent", "delivered", "opened", "clicked",
                                                "converted", "unsubscribed", "bounced",
                                                "failed")}
    Campaign.objects.filter(tenant=tenant, pk=campaign.pk).update(stats_at=timezone.now(),
                                                                  **values)
    for key, value in values.items():
        setattr(campaign, key, value)
    return stats
