"""Conversations with people and the messages in them — which are also the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.messaging.choices import (
    ChannelKind,
    ConversationStatus,
    MessageDirection,
    MessagePurpose,
    MessageStatus,
)
from tend.messaging.models.accounts import ChannelAccount
from tend.messaging.models.templates import Template
from tend.people.models import Contact


class Conversation(TenantModel):
    """One thread between the organization and a contact on one channel account.

    There is one conversation per (account, contact); resolving it and a new inbound message
    reopening it keep the history in one place (as Chatwoot does per inbox). `flow`, `state`
    and `state_data` belong to the bot flow currently talking with the contact (empty: none).
    `last_inbound_at` starts WhatsApp's 24-hour customer-service window.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE,
                                related_name="conversations")
    status = models.CharField(_("status"), max_length=10, choices=ConversationStatus.choices,
                              default=ConversationStatus.OPEN)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("assignee"))
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    external_chat_id = models.CharField(max_length=200, blank=True)
    flow = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=100, blank=True)
    state_data = models.JSONField(default=dict, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    last_message_preview = models.CharField(max_length=200, blank=True)
    unread_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_message_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "contact"],
                                    name="messaging_conversation_unique"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status", "-last_message_at"],
                         name="messaging_conv_status"),
            models.Index(fields=["tenant", "assignee", "status"], name="messaging_conv_assignee"),
            models.Index(fields=["tenant", "contact"], name="messaging_conv_contact"),
            # The inbox and API across all statuses, newest first.
            models.Index(fields=["tenant", "-last_message_at"], name="messaging_conv_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.contact} · {self.account}"


class Message(TenantModel):
    """One message in or out. Outbound messages are the outbox.

    An outbound message is created QUEUED in the transaction that decided to send it; a
    non-null `dedupe_key` (e.g. `campaign:<id>:<contact>:<channel>`) is unique per
    organization, so a retry or a duplicate trigger finds the existing row instead of sending
    twice. Workers claim due rows (`next_attempt_at` ≤ now) and take a lease
    (`lease_until`, `leased_by`); a row still SENDING after its lease expired is claimed again.
    `to_address` is the chat id, phone or email it goes to (filled from the contact's
    identities when left blank). `body` and `subject` are rendered text; `template` and
    `template_variables` record what they were rendered from (and are sent as a provider
    template where the channel needs one, e.g. WhatsApp outside the 24-hour window).
    """

    conversation = models.ForeignKey(Conversation, null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey(ChannelAccount, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="messages")
    channel = models.CharField(_("channel"), max_length=10, choices=ChannelKind.choices)
    direction = models.CharField(_("direction"), max_length=8, choices=MessageDirection.choices)
    purpose = models.CharField(_("purpose"), max_length=14, choices=MessagePurpose.choices,
                               default=MessagePurpose.CONVERSATION)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices,
                              default=MessageStatus.QUEUED)
    to_address = models.CharField(max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"), blank=True)
    media = models.JSONField(default=list, blank=True)
    template = models.ForeignKey(Template, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    template_variables = models.JSONField(default=dict, blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=100, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # The outbox.
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error = models.TextField(blank=True)
    skip_reason = models.CharField(max_length=40, blank=True)
    # Held back while in flight (a campaign paused during its send): the worker puts it to
    # HELD instead of back in the queue if it has to be tried again.
    hold_requested = models.BooleanField(default=False)
    # When each status was reached.
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["queued_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "dedupe_key"],
                                    condition=Q(dedupe_key__isnull=False),
                                    name="messaging_message_dedupe"),
        ]
        indexes = [
            # The outbox claim: due rows, oldest first, across organizations.
            models.Index(fields=["next_attempt_at"], name="messaging_msg_due",
                         condition=Q(status__in=["QUEUED", "SENDING"])),
            models.Index(fields=["tenant", "conversation", "queued_at"],
                         name="messaging_msg_thread"),
            models.Index(fields=["account", "provider_message_id"],
                         name="messaging_msg_provider_id"),
            models.Index(fields=["tenant", "status", "queued_at"], name="messaging_msg_status"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.channel} {self.status}"


class TelegramLink(TenantModel):
    """A one-time `https://t.me/<bot>?start=<code>` link that attaches a contact's Telegram.

    When the contact presses Start, the bot receives `/start <code>`; the sender's Telegram id
    becomes the contact's verified TELEGRAM identity and `used_at` is set. Expired or used
    codes do nothing.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    telegram_user_id = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="messaging_telegramlink_code"),
        ]
        indexes = [models.Index(fields=["code"], name="messaging_tglink_code")]
