"""What the rules app stores: the token of each organization's rule configuration."""

from __future__ import annotations

from django.db import models

from tend.core.models.base import TenantScopedManager


class FieldsVersion(models.Model):
    """A token that changes whenever the organization's rule configuration (the rows the field
    providers read, such as custom field definitions) changes, so every process knows when
    its built field registry is out of date (`tend.rules.registry.fields_for`)."""

    tenant = models.OneToOneField("core.Tenant", on_delete=models.CASCADE, primary_key=True,
                                  related_name="+")
    token = models.CharField(max_length=32)

    objects = TenantScopedManager()

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.token}"
