"""What providers send us, stored before anything else happens, and the drain of each
account's pending events."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from tend.core.models import TenantModel
from tend.messaging.choices import InboundStatus
from tend.messaging.models.accounts import ChannelAccount


class InboundEvent(TenantModel):
    """One event from a provider (a message, a delivery status, a callback), stored raw.

    Written in the webhook request after the signature check and before any processing, then
    answered 2xx and processed in the background by the account's drain (`InboundDrain`).
    `(account, event_id)` is unique: a provider delivering the same update again (Telegram
    `update_id`, WhatsApp message/status id) finds the row and nothing happens twice.
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
        indexes = [
            models.Index(fields=["tenant", "status", "received_at"],
                         name="messaging_inbound_status"),
            # What the drain claims and the sweep looks for: only the pending rows, which stay
            # few however many processed ones accumulate.
            models.Index(fields=["account", "received_at"], name="messaging_inbound_pending",
                         condition=Q(status=InboundStatus.PENDING)),
        ]


class InboundDrain(TenantModel):
    """Whether a drain of `account`'s pending inbound events is asked for, and who runs it.

    `requested_at` is set when a drain job is enqueued and cleared when the drain finishes
    (webhooks enqueue a job only while it is empty: one job per burst); `lease_until` and
    `leased_by` name the one drainer working through the account's events, so they are
    processed in order. Written only by `services.inbound_drain` (never saved whole), kept
    apart from `ChannelAccount` so that editing an account never writes these columns back.
    """

    account = models.ForeignKey(ChannelAccount, on_delete=models.CASCADE, related_name="+")
    requested_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "account"],
                                    name="messaging_inbound_drain_account"),
        ]
