"""Choice lists of the messaging module."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ChannelKind(models.TextChoices):
    TELEGRAM = "TELEGRAM", _("Telegram")
    WHATSAPP = "WHATSAPP", _("WhatsApp")
    EMAIL = "EMAIL", _("Email")
    SMS = "SMS", _("SMS")
    WEB = "WEB", _("In-app")


class AccountStatus(models.TextChoices):
    PENDING = "PENDING", _("Not connected yet")
    ACTIVE = "ACTIVE", _("Connected")
    ERROR = "ERROR", _("Error")
    DISABLED = "DISABLED", _("Disabled")


class ConversationStatus(models.TextChoices):
    OPEN = "OPEN", _("Open")
    PENDING = "PENDING", _("Pending")
    SNOOZED = "SNOOZED", _("Snoozed")
    RESOLVED = "RESOLVED", _("Resolved")


class MessageDirection(models.TextChoices):
    INBOUND = "INBOUND", _("Inbound")
    OUTBOUND = "OUTBOUND", _("Outbound")


class MessagePurpose(models.TextChoices):
    """Why a message is sent: marketing needs consent on its channel, the others don't."""

    TRANSACTIONAL = "TRANSACTIONAL", _("Transactional")
    CONVERSATION = "CONVERSATION", _("Conversation")
    MARKETING = "MARKETING", _("Marketing")


class MessageStatus(models.TextChoices):
    """Outbound: QUEUED → SENDING → SENT → DELIVERED → READ, or FAILED / BOUNCED / SKIPPED /
    DEAD (dead-lettered after retries or on a permanent error). Inbound: RECEIVED.
    HELD: queued but held back (a paused campaign); workers never claim it, and releasing it
    puts it back to QUEUED."""

    QUEUED = "QUEUED", _("Queued")
    HELD = "HELD", _("Held")
    SENDING = "SENDING", _("Sending")
    SENT = "SENT", _("Sent")
    DELIVERED = "DELIVERED", _("Delivered")
    READ = "READ", _("Read")
    FAILED = "FAILED", _("Failed")
    BOUNCED = "BOUNCED", _("Bounced")
    SKIPPED = "SKIPPED", _("Skipped")
    DEAD = "DEAD", _("Dead letter")
    DISCARDED = "DISCARDED", _("Discarded")
    RECEIVED = "RECEIVED", _("Received")


# Statuses a message never leaves (status callbacks may still move SENT forward).
FINAL_STATUSES = frozenset({MessageStatus.FAILED, MessageStatus.BOUNCED, MessageStatus.SKIPPED,
                            MessageStatus.DISCARDED, MessageStatus.RECEIVED})
# The order delivery callbacks may move a sent message along; a late "delivered" never
# overwrites "read".
DELIVERY_ORDER: dict[str, int] = {
    MessageStatus.SENT: 1, MessageStatus.DELIVERED: 2, MessageStatus.READ: 3}


class InboundStatus(models.TextChoices):
    PENDING = "PENDING", _("Pending")
    PROCESSED = "PROCESSED", _("Processed")
    IGNORED = "IGNORED", _("Ignored")
    FAILED = "FAILED", _("Failed")


class TemplateStatus(models.TextChoices):
    DRAFT = "DRAFT", _("Draft")
    PUBLISHED = "PUBLISHED", _("Published")
    ARCHIVED = "ARCHIVED", _("Archived")


class TemplateCategory(models.TextChoices):
    """WhatsApp's template categories; also used to tell marketing from service mail."""

    MARKETING = "MARKETING", _("Marketing")
    UTILITY = "UTILITY", _("Utility")
    AUTHENTICATION = "AUTHENTICATION", _("Authentication")
