"""Inbound data from other systems: signed webhook sources and the ingestion log."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.people.choices import IngestionStatus
from tend.people.models.activities import Activity
from tend.people.models.contacts import Contact


class IngestionSource(TenantModel):
    """A system that sends activities to `/hooks/sources/<key>`, signing each body with
    HMAC-SHA256 over `"<timestamp>.<raw body>"` using its secret.

    `key` is random and long, so looking it up across organizations is safe; the secret is
    stored encrypted (it must be read back to verify signatures).
    """

    name = models.CharField(_("name"), max_length=100)
    key = models.CharField(max_length=64, db_index=True)
    secret_encrypted = models.TextField()
    is_active = models.BooleanField(_("active"), default=True)
    last_received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="people_source_unique_key"),
        ]

    def __str__(self) -> str:
        return self.name


class IngestionLog(TenantModel):
    """One received item (an API batch entry or a webhook body) and what became of it."""

    source = models.ForeignKey(IngestionSource, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="logs")
    source_name = models.CharField(max_length=100, blank=True)
    source_event_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=IngestionStatus.choices,
                              default=IngestionStatus.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    activity = models.ForeignKey(Activity, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "status", "-created_at"],
                                name="people_ingestlog_status")]
