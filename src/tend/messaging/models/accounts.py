"""Channel accounts: one connected bot, number, mailbox or SMS sender of an organization."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core import crypto
from tend.core.models import TenantModel
from tend.messaging.choices import AccountStatus, ChannelKind


def new_webhook_key() -> str:
    """The unguessable part of an account's inbound URL (`/hooks/messaging/<key>/`)."""
    return secrets.token_urlsafe(24)


class ChannelAccount(TenantModel):
    """A Telegram bot, a WhatsApp number, an email sender, an SMS sender or the in-app channel.

    `settings` holds what is not secret (bot username, phone number id, API base URL, from
    address); `credentials_encrypted` holds the secrets (tokens, app secret, verify token,
    SMTP password) as one Fernet-encrypted JSON object — read and write them only through
    `credentials` / `set_credentials`. Inbound webhooks reach the account by `webhook_key`,
    which is random and looked up across organizations. `rate_per_second` and
    `rate_per_chat_per_second` override the provider's defaults (null: use the default).
    """

    kind = models.CharField(_("channel"), max_length=10, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=100)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    credentials_encrypted = models.TextField(blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AccountStatus.choices,
                              default=AccountStatus.PENDING)
    is_default = models.BooleanField(_("default for its channel"), default=False)
    webhook_key = models.CharField(max_length=64, default=new_webhook_key, db_index=True)
    rate_per_second = models.FloatField(_("messages per second"), null=True, blank=True)
    rate_per_chat_per_second = models.FloatField(_("messages per second to one person"),
                                                 null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_inbound_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="messaging_account_name"),
            models.UniqueConstraint(fields=["tenant", "webhook_key"],
                                    name="messaging_account_webhook_key"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.name}"

    @property
    def credentials(self) -> dict[str, Any]:
        """The decrypted secrets ({} when none are stored or SECRET_KEY changed)."""
        if not self.credentials_encrypted:
            return {}
        # Decrypted once per ciphertext and instance: the outbox reads them for every send.
        cached = self.__dict__.get("_credentials_cache")
        if cached is not None and cached[0] == self.credentials_encrypted:
            return dict(cached[1])
        try:
            value = json.loads(crypto.decrypt(self.credentials_encrypted))
        except (crypto.InvalidToken, ValueError):
            return {}
        value = value if isinstance(value, dict) else {}
        self.__dict__["_credentials_cache"] = (self.credentials_encrypted, value)
        return dict(value)

    def set_credentials(self, values: dict[str, Any]) -> None:
        self.credentials_encrypted = crypto.encrypt(json.dumps(values)) if values else ""
