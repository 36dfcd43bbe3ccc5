"""The append-only audit log with a per-organization hash chain."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.ids import uuid7
from tend.core.models.base import TenantScopedManager


class ActorType(models.TextChoices):
    USER = "user", _("User")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")


class AuditLog(models.Model):
    """One recorded action. Rows are never updated or deleted (database triggers refuse it).

    `seq` numbers the entries of one organization from 1; `hash` is SHA-256 over the previous
    entry's hash and this entry's canonical JSON, so any edit or removal breaks the chain and
    `tend audit verify` names the first broken entry. `changes` holds before/after values,
    with ids rather than personal data where possible.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey("core.Tenant", on_delete=models.DO_NOTHING, related_name="+",
                               db_constraint=False)
    seq = models.PositiveBigIntegerField()
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_id = models.CharField(max_length=64, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    entity_type = models.CharField(max_length=100, blank=True, db_index=True)
    entity_id = models.CharField(max_length=64, blank=True, db_index=True)
    changes = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = TenantScopedManager()

    class Meta:
        ordering = ["-seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="core_auditlog_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.entity_type}:{self.entity_id}"
