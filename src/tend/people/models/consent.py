"""Consent per contact, channel and purpose, with an append-only history."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.people.choices import ConsentChannel, ConsentPurpose, ConsentStatus
from tend.people.models.contacts import Contact


class Consent(TenantModel):
    """The current consent of one contact for one channel and purpose.

    Changed only by the consent service, which appends a `ConsentEvent` and refreshes the
    contact's `*_opt_in` flags (MARKETING purpose) in the same transaction.
    """

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(_("purpose"), max_length=14, choices=ConsentPurpose.choices,
                               default=ConsentPurpose.MARKETING)
    status = models.CharField(_("status"), max_length=8, choices=ConsentStatus.choices)
    source = models.CharField(_("source"), max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        ordering = ["channel", "purpose"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contact", "channel", "purpose"],
                                    name="people_consent_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {self.status}"


class ConsentEvent(TenantModel):
    """One change of consent, never updated or deleted: the proof of what a person agreed to."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE,
                                related_name="consent_events")
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=14, choices=ConsentPurpose.choices)
    status = models.CharField(max_length=8, choices=ConsentStatus.choices)
    previous_status = models.CharField(max_length=8, blank=True)
    source = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["tenant", "contact", "-occurred_at"],
                                name="people_consentevent_contact")]
