"""Organizations (tenants)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.ids import uuid7


class Plan(models.TextChoices):
    FREE = "free", _("Free")
    TEAM = "team", _("Team")
    BUSINESS = "business", _("Business")
    ENTERPRISE = "enterprise", _("Enterprise")


class Tenant(models.Model):
    """An organization: the unit of isolation. Shown to people as "organization".

    Everything a tenant owns carries its id (see `TenantModel`). `enabled_modules` lists the
    module keys from the module registry that this organization has switched on.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=63, unique=True)
    plan = models.CharField(_("plan"), max_length=20, choices=Plan.choices, default=Plan.FREE)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    default_language = models.CharField(_("default language"), max_length=10, default="en")
    locale = models.CharField(_("locale"), max_length=20, default="en-US")
    region = models.CharField(
        _("default phone region"), max_length=2, default="US", help_text=_("ISO 3166 code")
    )
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    enabled_modules = models.JSONField(_("enabled modules"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name

    def has_module(self, key: str) -> bool:
        return key in (self.enabled_modules or [])
