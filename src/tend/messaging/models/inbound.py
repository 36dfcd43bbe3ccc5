"""What providers send us, stored before anything else happens."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from tend.core.models import TenantModel
from tend.messaging.choices import InboundStatus
from tend.messaging.models.accounts import ChannelAccount


class InboundEvent(TenantModel):
    """One event from a provider (a message, a delivery status, a callback), stored raw.

    Written in the webhook request after the signature check and before any processing, then
    answered 2xx and processed in the background. `(account, event_id)` is unique: a provider
    delivering the same update again (Telegram `update_id`, WhatsApp message/status id) finds
    the row and nothing happens twice.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=InboundStatus.choices,
                              default=InboundStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account", "event_id"],
                                    name="messaging_inbound_unique"),
        ]
        indexes = [models.Index(fields=["tenant", "status", "received_at"],
                                name="messaging_inbound_status")]
