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
    # No single-column indexes on the audit columns: every one costs each insert (imports
    # write millions of rows) and lists sort by (tenant, created_at) composites where needed.
    # Deleting a staff user (rare) scans for created_by/updated_by instead.
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    objects = TenantScopedManager()

    class Meta:
        abstract = True
