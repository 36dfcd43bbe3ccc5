"""API keys: per-organization bearer credentials."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.core.models.base import TenantModel


class ApiKey(TenantModel):
    """A bearer key for the API. Only a SHA-256 of the secret is stored; the secret is shown once.

    The key string is `tend_<prefix>_<secret>`; `prefix` finds the row, the hash proves it.
    `permissions` is a subset of its creator's permissions at creation time. The key stops
    working when revoked, expired, or when its creator's membership ends.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, db_index=True)
    key_hash = models.CharField(max_length=64)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "prefix"], name="core_apikey_unique_prefix"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
