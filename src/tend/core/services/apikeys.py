"""Creating, revoking and checking API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import ApiKey, Membership, Tenant
from tend.core.permissions import is_known
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm

KEY_PREFIX = "tend"
# last_used_at is bookkeeping, not an audit trail: write it at most once a minute per key.
TOUCH_INTERVAL = timedelta(minutes=1)


def apikey_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def apikey_parse(token: str) -> tuple[str, str] | None:
    """Split `tend_<prefix>_<secret>` into (prefix, secret); None when it is not that shape."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def apikey_matches(api_key: ApiKey, secret: str) -> bool:
    """Constant-time comparison of `secret` with the stored hash."""
    return hmac.compare_digest(api_key.key_hash, apikey_hash(secret))


def apikey_create(*, tenant: Tenant, actor: Actor, name: str, permissions: list[str],
                  expires_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Create an API key in `tenant` acting for `actor`'s user; returns the key and its full
    secret string (`tend_<prefix>_<secret>`), which is never stored or shown again.

    Preconditions: call inside `tenant_scope(tenant)`; `actor` holds `apikeys.manage` and acts
    for a member (the key stops working when that membership ends). `permissions` must be known
    permissions the actor holds itself; `expires_at`, if given, must lie in the future.
    """
    check_perm(actor, "apikeys.manage")
    creator = actor.acting_user
    if creator is None:
        raise PermissionDenied(_("API keys are created by a member of the organization."))
    name = (name or "").strip()
    wanted = sorted(set(permissions or []))
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 100:
        errors["name"] = [_("Use at most 100 characters.")]
    unknown = [p for p in wanted if not is_known(p)]
    if unknown:
        errors["permissions"] = [f"Unknown permission: {p}" for p in unknown]
    else:
        beyond = [p for p in wanted if not actor.has_perm(p)]
        if beyond:
            errors["permissions"] = [f"You do not have this permission yourself: {p}"
                                     for p in beyond]
    if not wanted and "permissions" not in errors:
        errors["permissions"] = [_("Choose at least one permission.")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("Choose a time in the future.")]
    if errors:
        raise ValidationFailed(fields=errors)

    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            tenant=tenant, name=name, prefix=prefix, key_hash=apikey_hash(secret),
            permissions=wanted, expires_at=expires_at, created_by=creator, updated_by=creator,
        )
        audit_record(
            tenant=tenant, actor=actor, action="apikey.created", entity_type="apikey",
            entity_id=api_key.pk,
            changes={"name": name, "prefix": prefix, "permissions": wanted,
                     "expires_at": expires_at.isoformat() if expires_at else None},
        )
    return api_key, f"{KEY_PREFIX}_{prefix}_{secret}"


def apikey_revoke(*, tenant: Tenant, actor: Actor, api_key: ApiKey) -> ApiKey:
    """Revoke `api_key` at once. Revoking a revoked key changes nothing.

    Preconditions: inside `tenant_scope(tenant)`, `api_key` belongs to `tenant`, and `actor`
    holds `apikeys.manage`.
    """
    check_perm(actor, "apikeys.manage")
    if api_key.tenant_id != tenant.pk:
        raise PermissionDenied()
    if api_key.revoked_at is not None:
        return api_key
    with transaction.atomic():
        api_key.revoked_at = timezone.now()
        api_key.updated_by = actor.acting_user
        api_key.save(update_fields=["revoked_at", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor, action="apikey.revoked", entity_type="apikey",
            entity_id=api_key.pk, changes={"name": api_key.name, "prefix": api_key.prefix},
        )
    return api_key


def apikey_touch(*, api_key: ApiKey) -> None:
    """Record that `api_key` was just used, at most once per minute."""
    now = timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < TOUCH_INTERVAL:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def apikey_creator_membership(*, api_key: ApiKey) -> Membership | None:
    """The current membership of the key's creator in the key's organization, or None when the
    creator is gone, disabled, or no longer a current member. Call under `system_scope()`."""
    from tend.core.selectors.access import membership_for

    creator = api_key.created_by
    if creator is None:
        return None
    return membership_for(user=creator, org_slug=api_key.tenant.slug)
