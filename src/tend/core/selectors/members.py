"""Reading members and invitations of one organization (call inside its tenant scope)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.errors import NotFound
from tend.core.models import Invitation, Membership, Tenant
from tend.core.services.invitations import hash_token
from tend.core.tenancy import system_scope


def member_list(*, tenant: Tenant, filters: dict[str, Any] | None = None) -> QuerySet[Membership]:
    """Memberships with their user and role, by name then email.

    `filters`: `status` ("active" | "disabled" | "expired"), `role` (role id), `q` (text in
    name or email).
    """
    filters = filters or {}
    qs = Membership.objects.filter(tenant=tenant).select_related("user", "role")
    now = timezone.now()
    status = filters.get("status")
    if status == "active":
        qs = qs.filter(is_active=True).exclude(expires_at__lte=now)
    elif status == "disabled":
        qs = qs.filter(is_active=False)
    elif status == "expired":
        qs = qs.filter(is_active=True, expires_at__lte=now)
    if filters.get("role"):
        qs = qs.filter(role_id=filters["role"])
    if q := (filters.get("q") or "").strip():

        qs = qs.filter(Q(user__email__icontains=q) | Q(user__full_name__icontains=q))
    return qs.order_by("user__full_name", "user__email")


def member_get(*, tenant: Tenant, membership_id: UUID | str) -> Membership:
    """One membership of `tenant`, or `NotFound` (also for malformed ids and other tenants)."""
    try:
        return Membership.objects.select_related("user", "role").get(
            tenant=tenant, pk=membership_id
        )
    except (Membership.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such member.")) from None


def invitation_list(*, tenant: Tenant, pending_only: bool = True) -> QuerySet[Invitation]:
    """Invitations newest first, with role and inviter; only pending ones by default."""
    qs = Invitation.objects.filter(tenant=tenant).select_related("role", "invited_by")
    if pending_only:
        qs = qs.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                       expires_at__gt=timezone.now())
    return qs.order_by("-created_at")


def invitation_get(*, tenant: Tenant, invitation_id: UUID | str) -> Invitation:
    try:
        return Invitation.objects.select_related("role", "invited_by").get(
            tenant=tenant, pk=invitation_id
        )
    except (Invitation.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such invitation.")) from None


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to (in any organization), or None.

    Tokens are looked up by their SHA-256; the organization is not known before this, so the
    lookup runs in the system scope. The caller then enters the invitation's tenant scope.
    """
    if not token or len(token) > 200:
        return None
    with system_scope():
        return (
            Invitation.objects.select_related("tenant", "role", "invited_by")
            .filter(token_hash=hash_token(token))
            .first()
        )
