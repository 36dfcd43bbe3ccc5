"""Reading custom field definitions (call inside the tenant scope)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.errors import NotFound
from tend.core.models import CustomFieldDefinition, Tenant


def custom_definitions(*, tenant: Tenant, entity_type: str,
                       active_only: bool = False) -> list[CustomFieldDefinition]:
    """`tenant`'s fields of `entity_type` in display order."""
    qs = CustomFieldDefinition.objects.filter(tenant=tenant, entity_type=entity_type)
    if active_only:
        qs = qs.filter(is_active=True)
    return list(qs.order_by("position", "key"))


def customfield_list(*, tenant: Tenant, entity_type: str | None = None,
                     is_active: bool | None = None) -> QuerySet[CustomFieldDefinition]:
    """`tenant`'s field definitions, by entity type and position."""
    qs = CustomFieldDefinition.objects.filter(tenant=tenant)
    if entity_type:
        qs = qs.filter(entity_type=entity_type)
    if is_active is not None:
        qs = qs.filter(is_active=is_active)
    return qs.order_by("entity_type", "position", "key")


def customfield_get(*, tenant: Tenant, field_id: UUID | str | Any) -> CustomFieldDefinition:
    """One definition of `tenant`, or `NotFound` (also for malformed ids and other tenants)."""
    try:
        return CustomFieldDefinition.objects.get(tenant=tenant, pk=field_id)
    except (CustomFieldDefinition.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such custom field.")) from None
