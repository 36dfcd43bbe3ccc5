"""Models of marketing's campaigns (imported by `tend.marketing.models` so Django registers them).

One `Campaign` model carries campaigns, broadcasts and announcements (an announcement is a
campaign of kind ANNOUNCEMENT with a `context` its templates read). Each fan-out is a
`CampaignRun` — the dispatch record: when it was due and ran, which template versions and
context it used, how many messages it queued, and its errors. Every recipient and channel
becomes one outbox `Message` whose dedupe key is `campaign:<id>:<run>:<contact>:<channel>`,
so no re-run sends twice. What happened to the messages afterwards (sent, delivered, opened,
clicked, converted, unsubscribed, bounced, failed) is a `CampaignInteraction` row each.
`PromotedItem` and `EventPromotion` promote anything with a start time through scheduled
campaigns.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel

__all__ = [
    "Campaign",
    "CampaignInteraction",
    "CampaignKind",
    "CampaignRun",
    "CampaignStatus",
    "CampaignType",
    "EventPromotion",
    "InteractionType",
    "PromotedItem",
    "RunStatus",
]


class CampaignType(models.TextChoices):
    ONE_TIME = "ONE_TIME", _("One time")
    RECURRING = "RECURRING", _("Recurring")
    TRIGGERED = "TRIGGERED", _("Triggered by an activity")
    JOURNEY = "JOURNEY", _("Journey")


class CampaignKind(models.TextChoices):
    CAMPAIGN = "CAMPAIGN", _("Campaign")
    ANNOUNCEMENT = "ANNOUNCEMENT", _("Announcement")
    PROMOTION = "PROMOTION", _("Event promotion")


class CampaignStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    SCHEDULED = "SCHEDULED", _("Scheduled")
    ACTIVE = "ACTIVE", _("Active")
    PAUSED = "PAUSED", _("Paused")
    COMPLETED = "COMPLETED", _("Completed")
    CANCELLED = "CANCELLED", _("Cancelled")


class RunStatus(models.TextChoices):
    RUNNING = "RUNNING", _("Running")
    DONE = "DONE", _("Done")
    FAILED = "FAILED", _("Failed")


class InteractionType(models.TextChoices):
    SENT = "SENT", _("Sent")
    DELIVERED = "DELIVERED", _("Delivered")
    OPENED = "OPENED", _("Opened")
    CLICKED = "CLICKED", _("Clicked")
    CONVERTED = "CONVERTED", _("Converted")
    UNSUBSCRIBED = "UNSUBSCRIBED", _("Unsubscribed")
    BOUNCED = "BOUNCED", _("Bounced")
    FAILED = "FAILED", _("Failed")


class Campaign(TenantModel):
    """Outreach to the members of segments on one or more channels.

    Audience: the contacts in any of `segment_ids`, minus those in any of
    `exclude_segment_ids`, minus (per channel whose `consent_required` is on) those without
    MARKETING consent on that channel, minus those without an address on it. `channels` is a
    list of `{"channel", "template_key"}` (a messaging template, resolved per contact
    language) or `{"channel", "subject", "body"}` (inline text with the same variables), each
    with `consent_required` (default true: the message is MARKETING and the outbox checks
    consent again at send time).

    Timing: ONE_TIME runs once at `scheduled_at`; RECURRING runs at each `cron` time in
    `time_zone` until `end_at`; TRIGGERED sends to one contact when an activity of
    `trigger_activity_type` is recorded for them and `trigger_rule` (a rule, may be empty)
    matches; JOURNEY campaigns are sent by journeys. `send_local_time` sends each contact's
    message at the scheduled wall-clock time in their own time zone; `throttle_per_minute`
    spreads the messages of a run. `next_run_at` is when the tick runs it next.

    Status moves only along `tend.marketing.services.campaigns.ALLOWED_TRANSITIONS`; change it
    through the services, never by hand. The `*_count` fields are the statistics as last
    computed (`campaign_stats_refresh`); the report reads them live.
    """

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    type = models.CharField(_("type"), max_length=10, choices=CampaignType.choices,
                            default=CampaignType.ONE_TIME)
    kind = models.CharField(_("kind"), max_length=12, choices=CampaignKind.choices,
                            default=CampaignKind.CAMPAIGN)
    status = models.CharField(_("status"), max_length=10, choices=CampaignStatus.choices,
                              default=CampaignStatus.DRAFT)
    segment_ids = models.JSONField(default=list, blank=True)
    exclude_segment_ids = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    # Announcements: the dated item the templates talk about (`{{ item.title }}` …).
    context = models.JSONField(default=dict, blank=True)
    context_label = models.CharField(_("about"), max_length=200, blank=True)
    # Timing.
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    cron = models.CharField(_("repeat (cron)"), max_length=100, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    end_at = models.DateTimeField(_("repeat until"), null=True, blank=True)
    send_local_time = models.BooleanField(_("send in each contact's local time"),
                                          default=False)
    throttle_per_minute = models.PositiveIntegerField(_("at most per minute"), null=True,
                                                      blank=True)
    trigger_activity_type = models.CharField(_("trigger activity"), max_length=100, blank=True)
    trigger_rule = models.JSONField(default=dict, blank=True)
    conversion_activity_type = models.CharField(_("conversion activity"), max_length=100,
                                                blank=True)
    conversion_days = models.PositiveSmallIntegerField(_("conversion window (days)"),
                                                       default=7)
    next_run_at = models.DateTimeField(null=True, blank=True)
    run_count = models.PositiveIntegerField(default=0)
    # Tracked links (index → URL), filled when a run renders the bodies.
    links = models.JSONField(default=list, blank=True)
    launched_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    promotion = models.ForeignKey("marketing.EventPromotion", null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="campaigns")
    # Which send of its promotion this is: "announce" or "remind:<days>".
    promotion_key = models.CharField(max_length=20, blank=True)
    # Statistics (recomputed from the runs and interactions).
    target_count = models.PositiveIntegerField(default=0)
    sent_count = models.PositiveIntegerField(default=0)
    delivered_count = models.PositiveIntegerField(default=0)
    opened_count = models.PositiveIntegerField(default=0)
    clicked_count = models.PositiveIntegerField(default=0)
    converted_count = models.PositiveIntegerField(default=0)
    unsubscribed_count = models.PositiveIntegerField(default=0)
    bounced_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    stats_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "status", "-created_at"],
                         name="marketing_campaign_status"),
            models.Index(fields=["next_run_at"], name="marketing_campaign_due",
                         condition=models.Q(next_run_at__isnull=False)),
            models.Index(fields=["tenant", "trigger_activity_type"],
                         name="marketing_campaign_trigger",
                         condition=~models.Q(trigger_activity_type="")),
            models.Index(fields=["tenant", "conversion_activity_type"],
                         name="marketing_campaign_conv",
                         condition=~models.Q(conversion_activity_type="")),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignRun(TenantModel):
    """One fan-out of a campaign (the dispatch record of an announcement).

    `number` counts the campaign's runs from 1; it is part of every message's dedupe key, so
    running the same number again queues nothing new. `template_versions` maps channel to
    {language: version} of the templates used, `context` is the announcement context as it
    was sent, `target_count` the messages this run queued.
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="runs")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=RunStatus.choices,
                              default=RunStatus.RUNNING)
    due_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    channels = models.JSONField(default=list, blank=True)
    template_versions = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    target_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "campaign", "number"],
                                    name="marketing_campaignrun_number"),
        ]


class CampaignInteraction(TenantModel):
    """Something that happened to one campaign message: sent, delivered, opened (the email
    pixel, or a WhatsApp/Telegram read receipt), clicked (`link`), converted (an activity of
    the conversion type within the window), unsubscribed, bounced or failed. `device` is
    guessed from the user agent of opens and clicks."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE,
                                 related_name="interactions", db_index=False)
    message = models.ForeignKey("messaging.Message", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+", db_index=False)
    contact = models.ForeignKey("people.Contact", null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+", db_index=False)
    type = models.CharField(max_length=12, choices=InteractionType.choices)
    channel = models.CharField(max_length=10, blank=True)
    link = models.CharField(max_length=2000, blank=True)
    device = models.CharField(max_length=10, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [
            models.Index(fields=["campaign", "type", "occurred_at"],
                         name="marketing_interaction_type"),
            models.Index(fields=["message", "type"], name="marketing_interaction_msg"),
            models.Index(fields=["contact", "type"], name="marketing_interaction_contact"),
        ]


class PromotedItem(TenantModel):
    """Something with a start time to promote — a simple dated item until a module offers its
    own (events register through `tend.marketing.services.promotion.register_promotable`).
    `status` CANCELLED cancels its promotions' campaigns."""

    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    url = models.URLField(_("link"), max_length=500, blank=True)
    description = models.TextField(_("description"), blank=True)
    is_cancelled = models.BooleanField(_("cancelled"), default=False)

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title


class EventPromotion(TenantModel):
    """Automatic promotion of one dated item: an announcement at `announce_at` and reminders
    `reminder_days` before the start, to `segment_ids` on `channels` (same shape as a
    campaign's). It owns one scheduled campaign per send (`Campaign.promotion`); moving the
    item reschedules them, cancelling it cancels them. `item_type`/`item_id` name the item in
    the promotable registry ("marketing.item" is `PromotedItem`)."""

    item_type = models.CharField(max_length=50, default="marketing.item")
    item_id = models.CharField(max_length=64)
    item_title = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    announce_at = models.DateTimeField(_("announce at"), null=True, blank=True)
    reminder_days = models.JSONField(default=list, blank=True)
    segment_ids = models.JSONField(default=list, blank=True)
    channels = models.JSONField(default=list, blank=True)
    synced_starts_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "item_type", "item_id"],
                                    name="marketing_promotion_item"),
        ]
