"""The base every tenant-owned model inherits."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django_scopes import ScopedManager

from tend.core.ids import uuid7


def TenantScopedManager() -> models.Manager:
    """A manager that raises outside a tenant scope (django-scopes), on every database."""
    return ScopedManager(tenant="tenant")


class TenantModel(models.Model):
    """A row owned by exactly one organization.

    Preconditions for subclasses: every unique constraint includes `tenant`, and no foreign key
    points at a row of another tenant (services check this at the edge). The default manager
    fails closed outside `tenant_scope()`; `objects_unscoped` exists only for system code that
    runs under `system_scope()`.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    tenant = models.ForeignKey("core.Tenant", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = TenantScopedManager()

    class Meta:
        abstract = True
