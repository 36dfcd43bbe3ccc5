"""Reading tags (call inside the tenant scope)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from tend.core.errors import NotFound
from tend.core.models import Tag, Tenant


def tag_list(*, tenant: Tenant, search: str = "") -> QuerySet[Tag]:
    """`tenant`'s tags by name (ignoring case); `search` matches name or slug, ignoring case."""
    qs = Tag.objects.filter(tenant=tenant)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(slug__icontains=search))
    return qs.order_by(Lower("name"), "id")


def tag_get(*, tenant: Tenant, tag_id: UUID | str | Any) -> Tag:
    """One tag of `tenant`, or `NotFound` (also for malformed ids and other tenants)."""
    try:
        return Tag.objects.get(tenant=tenant, pk=tag_id)
    except (Tag.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such tag.")) from None
