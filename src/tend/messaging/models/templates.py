"""Message templates: versioned text per key, channel and language."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TenantModel
from tend.messaging.choices import ChannelKind, TemplateCategory, TemplateStatus


class Template(TenantModel):
    """One version of a message template (`key` + `channel` + `language` + `version`).

    A PUBLISHED version is immutable: editing it creates the next version as a DRAFT.
    `body` and `subject` use `{{ contact.first_name }}`-style variables, listed in
    `variables` when saved (unknown ones are rejected). `provider_template_name` is the name
    of the pre-approved WhatsApp template this version maps to, used outside the 24-hour
    window. Sending picks the newest published version in the contact's language, falling back
    to the organization's default language.
    """

    key = models.SlugField(_("key"), max_length=100)
    name = models.CharField(_("name"), max_length=200, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=ChannelKind.choices)
    language = models.CharField(_("language"), max_length=10)
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(_("status"), max_length=10, choices=TemplateStatus.choices,
                              default=TemplateStatus.DRAFT)
    category = models.CharField(_("category"), max_length=14, choices=TemplateCategory.choices,
                                default=TemplateCategory.UTILITY)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("body"))
    variables = models.JSONField(default=list, blank=True)
    provider_template_name = models.CharField(_("WhatsApp template name"), max_length=200,
                                              blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key", "channel", "language", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key", "channel", "language", "version"],
                                    name="messaging_template_version"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.channel}, {self.language}, v{self.version})"
