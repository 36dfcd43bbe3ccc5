"""Segments: named sets of contacts (static lists, rule-based audiences, imported lists) with
their membership materialized so lists, exports and campaigns read it fast."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.marketing.choices import (
    MembershipSource,
    RefreshFrequency,
    RefreshTrigger,
    SegmentType,
)


class Segment(TenantModel):
    """A named set of contacts.

    STATIC and IMPORT segments hold the people added to them (by hand, the API, a bulk action
    or an import); DYNAMIC ones hold the people their `rule` matches, kept true by refreshes
    (full: set-based SQL) and by re-evaluating one contact after a change it depends on.
    `dependencies` (what the rule reads, see `tend.rules.rule_dependencies`) and
    `segment_refs` are computed from the rule when it is saved; never edit them by hand.
    `member_count` always equals the number of membership rows. System segments (created
    with each organization) cannot be renamed or deleted.
    """

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    type = models.CharField(_("type"), max_length=10, choices=SegmentType.choices,
                            default=SegmentType.STATIC)
    rule = models.JSONField(_("rules"), default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_system = models.BooleanField(_("system segment"), default=False)
    system_key = models.CharField(max_length=50, blank=True)
    refresh_frequency = models.CharField(_("refresh"), max_length=10,
                                         choices=RefreshFrequency.choices,
                                         default=RefreshFrequency.DAILY)
    dependencies = models.JSONField(default=list, blank=True)
    segment_refs = models.JSONField(default=list, blank=True)
    is_time_relative = models.BooleanField(default=False)
    member_count = models.PositiveIntegerField(_("members"), default=0)
    last_refreshed_at = models.DateTimeField(_("last refreshed"), null=True, blank=True)
    next_refresh_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="marketing_segment_name"),
            models.UniqueConstraint(fields=["tenant", "system_key"],
                                    condition=~models.Q(system_key=""),
                                    name="marketing_segment_system_key"),
        ]
        indexes = [
            models.Index(fields=["tenant", "type", "is_active"], name="marketing_segment_type"),
            models.Index(fields=["next_refresh_at"], name="marketing_segment_due"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_dynamic(self) -> bool:
        return self.type == SegmentType.DYNAMIC


class SegmentMembership(TenantModel):
    """One contact in one segment: since when (`matched_at`), how (`source`) and by whom
    (`added_by`, empty for rule matches). Written set-based by the segment services.

    Indexes: the unique (tenant, segment, contact) serves the refresh anti-joins and the
    organization's foreign key, (segment, matched_at) the members list and the segment's,
    (tenant, contact, segment) and contact the contact's segments and deleting a contact. No
    other single-column index: each costs every row a refresh inserts."""

    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+",
                               db_index=False)
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships",
                                db_index=False)
    contact = models.ForeignKey("people.Contact", on_delete=models.CASCADE, related_name="+")
    matched_at = models.DateTimeField(_("member since"))
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+", db_index=False)
    source = models.CharField(max_length=10, choices=MembershipSource.choices,
                              default=MembershipSource.RULE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "segment", "contact"],
                                    name="marketing_membership_unique"),
        ]
        indexes = [
            # Covers "the segments of one contact" (SQLite prefers a covering index, and
            # without statistics would otherwise scan the unique one by organization).
            models.Index(fields=["tenant", "contact", "segment"],
                         name="marketing_membership_contseg"),
            models.Index(fields=["segment", "-matched_at"], name="marketing_membership_recent"),
        ]


class SegmentRefresh(TenantModel):
    """One recomputation of a segment's members: the history on the segment's page."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="refreshes")
    trigger = models.CharField(max_length=15, choices=RefreshTrigger.choices)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    member_count = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["segment", "-started_at"],
                                name="marketing_refresh_recent")]


class SegmentCount(TenantModel):
    """A segment's member count at the end of a day (the last one written that day): the
    growth chart."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="counts")
    day = models.DateField()
    member_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "segment", "day"],
                                    name="marketing_count_day"),
        ]


# Campaigns and journeys keep their models in their own modules; importing them here lets
# Django register them with the marketing app.
from tend.marketing.models_automation import *  # noqa: E402, F403
from tend.marketing.models_campaigns import *  # noqa: E402, F403
from tend.marketing.models_journeys import *  # noqa: E402, F403
