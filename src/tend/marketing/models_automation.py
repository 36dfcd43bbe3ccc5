"""Models of marketing's automation (imported by `tend.marketing.models` so Django registers
them): reminders for staff, social posts, and outbound webhooks.

- `ReminderRule` → `Reminder`: a rule per organization turns contacts into persisted
  reminders for staff members (done / snooze / dismiss); `ReminderDigest` records the daily
  digest each staff member got.
- `SocialConnection` → `SocialPost` → `SocialPostTarget`: a post goes to one or more
  connected platform accounts; each target keeps the platform's post id, URL and
  engagement counts.
- `WebhookSubscription` → `WebhookDelivery`: signed deliveries of events to URLs, retried
  with backoff and logged.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel

__all__ = [
    "DeliveryStatus",
    "Reminder",
    "ReminderDigest",
    "ReminderRule",
    "ReminderStatus",
    "SocialConnection",
    "SocialConnectionStatus",
    "SocialPlatform",
    "SocialPost",
    "SocialPostStatus",
    "SocialPostTarget",
    "SocialTargetStatus",
    "WebhookDelivery",
    "WebhookSubscription",
]


# --- reminders -----------------------------------------------------------------------------


class ReminderStatus(models.TextChoices):
    OPEN = "OPEN", _("Open")
    DONE = "DONE", _("Done")
    SNOOZED = "SNOOZED", _("Snoozed")
    DISMISSED = "DISMISSED", _("Dismissed")


class ReminderRule(TenantModel):
    """Which contacts produce reminders of one type, and who is reminded.

    `type` is a key of the reminder-type registry (`tend.marketing.services.reminders`);
    `params` its settings (CONTACT_OVERDUE: `{"days": 30}`), `rule` an optional rule over
    contacts (the rule language; empty: every live contact), `recipients` keys of the
    recipient-resolver registry (`owner` now). The tick evaluates active rules.
    """

    name = models.CharField(_("name"), max_length=200)
    type = models.CharField(_("type"), max_length=50)
    rule = models.JSONField(_("contacts"), default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="marketing_remrule_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Reminder(TenantModel):
    """Something a staff member (`recipient`) should do about a contact.

    `subject_key` names the occurrence (CONTACT_OVERDUE: the last contact it counts from;
    FOLLOW_UP_DUE: the interaction), so closing a reminder does not bring the same one back
    on the next tick, while a new occurrence makes a new reminder. At most one reminder per
    type, contact and recipient is open (or snoozed) at a time. SNOOZED ones reopen at
    `snoozed_until`.
    """

    rule = models.ForeignKey(ReminderRule, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="reminders")
    type = models.CharField(_("type"), max_length=50)
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="+")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                  related_name="+", verbose_name=_("for"))
    subject_key = models.CharField(max_length=100)
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=ReminderStatus.choices,
                              default=ReminderStatus.OPEN)
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+", db_index=False)

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "type", "contact", "recipient",
                                            "subject_key"], name="marketing_reminder_subject"),
            models.UniqueConstraint(fields=["tenant", "type", "contact", "recipient"],
                                    condition=models.Q(status__in=["OPEN", "SNOOZED"]),
                                    name="marketing_reminder_one_open"),
        ]
        indexes = [
            models.Index(fields=["tenant", "recipient", "status", "due_at"],
                         name="marketing_reminder_mine"),
            models.Index(fields=["tenant", "status", "due_at"], name="marketing_reminder_all"),
            models.Index(fields=["snoozed_until"], name="marketing_reminder_snoozed",
                         condition=models.Q(status="SNOOZED")),
        ]


class ReminderDigest(TenantModel):
    """The daily digest one staff member got (one per local day): sending it twice is
    impossible, and the page shows when the last one went out."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField()
    reminder_count = models.PositiveIntegerField(default=0)
    channels = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user", "day"],
                                    name="marketing_digest_day"),
        ]


# --- social posts --------------------------------------------------------------------------


class SocialPlatform(models.TextChoices):
    FACEBOOK = "FACEBOOK", _("Facebook page")
    INSTAGRAM = "INSTAGRAM", _("Instagram")
    TWITTER = "TWITTER", _("X (Twitter)")
    LINKEDIN = "LINKEDIN", _("LinkedIn")
    TIKTOK = "TIKTOK", _("TikTok")


class SocialConnectionStatus(models.TextChoices):
    ACTIVE = "ACTIVE", _("Connected")
    ERROR = "ERROR", _("Needs attention")
    DISCONNECTED = "DISCONNECTED", _("Disconnected")


class SocialConnection(TenantModel):
    """An organization's account on a social platform that posts can go to.

    Tokens are stored encrypted (`tend.core.crypto`); read them through the social services.
    `settings` holds the adapter's options (`api_base` — the platform's API root, a local
    fake in tests — and platform extras such as LinkedIn's author URN). `status` is the
    health: ERROR with `last_error` after the platform refused the token or a post.
    """

    platform = models.CharField(_("platform"), max_length=10, choices=SocialPlatform.choices)
    name = models.CharField(_("account"), max_length=200)
    account_id = models.CharField(_("account id"), max_length=200)
    access_token_encrypted = models.TextField(blank=True)
    refresh_token_encrypted = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=12,
                              choices=SocialConnectionStatus.choices,
                              default=SocialConnectionStatus.ACTIVE)
    last_error = models.TextField(_("last error"), blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["platform", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "platform", "account_id"],
                                    name="marketing_social_account"),
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()}: {self.name}"


class SocialPostStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    SCHEDULED = "SCHEDULED", _("Scheduled")
    PUBLISHING = "PUBLISHING", _("Publishing")
    PUBLISHED = "PUBLISHED", _("Published")
    FAILED = "FAILED", _("Failed")


class SocialTargetStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    PUBLISHING = "PUBLISHING", _("Publishing")
    PUBLISHED = "PUBLISHED", _("Published")
    FAILED = "FAILED", _("Failed")


class SocialPost(TenantModel):
    """A post for one or more connected accounts (its `targets`).

    DRAFT → SCHEDULED (at `scheduled_at`) → PUBLISHING (claimed by a worker until
    `lease_until`) → PUBLISHED (every target published) or FAILED (some target failed for
    good). `media` is a list of `{"url", "type": "image"|"video"}` reachable by the platforms.
    """

    content = models.TextField(_("text"), blank=True)
    media = models.JSONField(default=list, blank=True)
    link = models.URLField(_("link"), max_length=500, blank=True)
    hashtags = models.JSONField(default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=SocialPostStatus.choices,
                              default=SocialPostStatus.DRAFT)
    scheduled_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    metrics_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="marketing_socialpost_due",
                         condition=models.Q(status__in=["SCHEDULED", "PUBLISHING"])),
            models.Index(fields=["tenant", "scheduled_at"], name="marketing_socialpost_cal"),
        ]

    def __str__(self) -> str:
        return self.content[:50]

    @property
    def text(self) -> str:
        """What is posted: the content, then the hashtags."""
        tags = " ".join(f"#{tag}" for tag in self.hashtags if tag)
        return f"{self.content}\n\n{tags}".strip() if tags else self.content


class SocialPostTarget(TenantModel):
    """One post on one connected account: what the platform answered, and its engagement."""

    post = models.ForeignKey(SocialPost, on_delete=models.CASCADE, related_name="targets")
    connection = models.ForeignKey(SocialConnection, on_delete=models.CASCADE,
                                   related_name="targets")
    status = models.CharField(max_length=10, choices=SocialTargetStatus.choices,
                              default=SocialTargetStatus.PENDING)
    platform_post_id = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    likes = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    shares = models.PositiveIntegerField(default=0)
    impressions = models.PositiveIntegerField(default=0)
    metrics_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "post", "connection"],
                                    name="marketing_socialtarget_unique"),
        ]


# --- outbound webhooks ---------------------------------------------------------------------


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    SUCCEEDED = "SUCCEEDED", _("Delivered")
    FAILED = "FAILED", _("Failed")


class WebhookSubscription(TenantModel):
    """A URL that receives the organization's events of `event_types` (keys of the webhook
    event registry; `"*"` for all), signed with `secret` (stored encrypted).

    `failure_count` counts consecutive failed attempts; at the limit the subscription is
    switched off (`is_active` false, `disabled_at`) and the organization's admins are told.
    """

    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("URL"), max_length=500)
    secret_encrypted = models.TextField()
    event_types = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    failure_count = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["tenant", "is_active"], name="marketing_webhook_active")]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(TenantModel):
    """One event for one subscription, and how its last attempt went.

    PENDING rows are due at `next_attempt_at`; a worker claims them (`lease_until`) and
    sends. `attempt` counts attempts made; `response_code`, `response_body` (an excerpt),
    `duration_ms` and `error` describe the last one.
    """

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE,
                                     related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "subscription", "event_id"],
                                    name="marketing_delivery_event"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="marketing_delivery_due",
                         condition=models.Q(status="PENDING")),
            models.Index(fields=["subscription", "-created_at"],
                         name="marketing_delivery_log"),
        ]
