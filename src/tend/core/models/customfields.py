"""Custom field definitions and tags."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models.base import TenantModel


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DECIMAL = "decimal", _("Decimal")
    DATE = "date", _("Date")
    DATETIME = "datetime", _("Date and time")
    BOOLEAN = "boolean", _("Yes/no")
    CHOICE = "choice", _("Choice")
    MULTI_CHOICE = "multi_choice", _("Multiple choice")
    URL = "url", _("URL")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class CustomFieldDefinition(TenantModel):
    """A field an organization adds to an entity type (e.g. "contact").

    Values live in the entity's `custom` JSON column, keyed by `key`, and are validated against
    this definition on every write. `label` maps language codes to text (`{"en": …, "ar": …}`);
    `choices` is a list of `{"value": …, "label": {…}}` for choice types.
    """

    entity_type = models.CharField(_("entity type"), max_length=50)
    key = models.SlugField(_("key"), max_length=64)
    label = models.JSONField(_("label"), default=dict)
    field_type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    required = models.BooleanField(_("required"), default=False)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["entity_type", "position", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "entity_type", "key"], name="core_customfield_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}.{self.key}"

    def label_for(self, language: str) -> str:
        labels = self.label or {}
        return labels.get(language) or labels.get("en") or next(iter(labels.values()), self.key)


class Tag(TenantModel):
    """A label staff attach to records. Names are unique per organization, case-insensitively."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=100, allow_unicode=True)
    color = models.CharField(_("color"), max_length=7, default="#6b7280")
    description = models.CharField(_("description"), max_length=300, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="core_tag_unique_slug"),
        ]

    def __str__(self) -> str:
        return self.name
