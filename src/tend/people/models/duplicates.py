"""Likely duplicate contacts, found by the detection job or when identifiers disagree."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.people.choices import DuplicateResolution, MatchType
from tend.people.models.contacts import Contact


class DuplicateCandidate(TenantModel):
    """A pair of contacts that may be one person. `contact_a` has the smaller id, so a pair is
    stored once. `score` is 0 to 100; `matched_fields` lists what agreed (`["email", "name"]`)."""

    contact_a = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    contact_b = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    match_type = models.CharField(_("match"), max_length=12, choices=MatchType.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    matched_fields = models.JSONField(default=list, blank=True)
    resolution = models.CharField(_("resolution"), max_length=14,
                                  choices=DuplicateResolution.choices,
                                  default=DuplicateResolution.PENDING)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "contact_a", "contact_b"],
                                    name="people_duplicate_unique_pair"),
            models.CheckConstraint(condition=Q(contact_a__lt=F("contact_b")),
                                   name="people_duplicate_ordered_pair"),
        ]
        indexes = [models.Index(fields=["tenant", "resolution", "-score"],
                                name="people_duplicate_queue")]
