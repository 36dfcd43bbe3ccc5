"""Reading API keys."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import ApiKey, Tenant
from tend.core.services.guards import check_perm

STATUSES = ("active", "revoked", "expired")


def apikey_status(api_key: ApiKey) -> str:
    if api_key.revoked_at is not None:
        return "revoked"
    if api_key.expires_at is not None and api_key.expires_at <= timezone.now():
        return "expired"
    return "active"


def apikey_list(*, tenant: Tenant, actor: Actor, status: str | None = None,
                q: str | None = None) -> QuerySet[ApiKey]:
    """`tenant`'s API keys (newest first), optionally only those in `status` (active, revoked,
    expired) or whose name contains `q`. Needs `apikeys.view`; call inside the tenant scope."""
    check_perm(actor, "apikeys.view")
    keys = ApiKey.objects.filter(tenant=tenant).select_related("created_by")
    now = timezone.now()
    if status:
        if status not in STATUSES:
            raise ValidationFailed(fields={"status": [f"Choose one of: {', '.join(STATUSES)}."]})
        live = Q(revoked_at__isnull=True)
        unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        keys = keys.filter(
            {"active": live & unexpired, "revoked": ~live, "expired": live & ~unexpired}[status]
        )
    if q:
        keys = keys.filter(name__icontains=q.strip())
    return keys.order_by("-created_at", "-id")


def access_apikey(*, tenant: Tenant, actor: Actor, key_id: Any) -> ApiKey:
    """The key `key_id` of `tenant`, if `actor` may see it; 404 for ids of other tenants."""
    check_perm(actor, "apikeys.view")
    try:
        return ApiKey.objects.select_related("created_by").get(tenant=tenant, pk=key_id)
    except (ApiKey.DoesNotExist, ValidationError, ValueError):
        raise NotFound() from None
