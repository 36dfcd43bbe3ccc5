"""Members and invitations: list, read, change role and expiry, disable/enable, remove;
invite, list and revoke invitations."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import Invitation, Membership, Role
from tend.core.selectors.members import invitation_get, invitation_list, member_get, member_list
from tend.core.selectors.roles import role_get
from tend.core.services.invitations import invitation_create, invitation_revoke
from tend.core.services.members import (
    member_change_role,
    member_disable,
    member_enable,
    member_remove,
    member_set_expiry,
)

router = Router(tags=["Members"])

MEMBER_STATUSES = ("active", "disabled", "expired")
INVITATION_STATUSES = ("pending", "accepted", "revoked", "expired")


class UserRef(Schema):
    id: UUID
    email: str
    full_name: str


class RoleRef(Schema):
    id: UUID
    key: str
    name: str


class MemberOut(Schema):
    id: UUID = Field(description="The membership id (not the user id).")
    user: UserRef
    role: RoleRef
    status: str = Field(description="active, disabled or expired")
    is_active: bool
    expires_at: datetime | None
    granted_by_id: UUID | None
    created_at: datetime

    @staticmethod
    def resolve_status(obj: Membership) -> str:
        if not obj.is_active:
            return "disabled"
        if obj.expires_at is not None and obj.expires_at <= timezone.now():
            return "expired"
        return "active"


class MemberFilter(Schema):
    status: str | None = Field(None, description="active, disabled or expired")
    role_id: UUID | None = None
    q: str | None = Field(None, max_length=200, description="Part of the name or email.")


class MemberPatch(Schema):
    """Only the fields sent change. `expires_at: null` removes the end date."""

    model_config = ConfigDict(extra="forbid")

    role_id: UUID | None = Field(None, description="A role of this organization.")
    expires_at: datetime | None = Field(
        None, description="When the membership ends (with a time zone); null for never."
    )


class InvitationOut(Schema):
    id: UUID
    email: str
    role: RoleRef
    status: str = Field(description="pending, accepted, revoked or expired")
    invited_by_id: UUID | None
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_status(obj: Invitation) -> str:
        if obj.accepted_at is not None:
            return "accepted"
        if obj.revoked_at is not None:
            return "revoked"
        if obj.expires_at <= timezone.now():
            return "expired"
        return "pending"


class InvitationIn(Schema):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=254)
    role_id: UUID = Field(description="A role of this organization.")


class InvitationFilter(Schema):
    status: str | None = Field(
        "pending", description="pending (default), accepted, revoked, expired, or all"
    )


def _check_choice(value: str | None, allowed: tuple[str, ...], field: str) -> None:
    if value is not None and value not in allowed:
        raise ValidationFailed(fields={field: [
            _("Choose one of: %(choices)s.") % {"choices": ", ".join(allowed)}]})


def _role_for(request: HttpRequest, role_id: UUID) -> Role:
    """A role named in a request body: one of this organization's, else a field error."""
    try:
        return role_get(tenant=request.tenant, role_id=role_id)  # type: ignore[attr-defined]
    except NotFound:
        raise ValidationFailed(
            fields={"role_id": [_("Choose a role of this organization.")]}) from None


@router.get("/members", response=Page[MemberOut])
def members_list(request: HttpRequest, page: Query[PageParams], filters: Query[MemberFilter]):
    """The organization's members, oldest first. Needs `members.view`."""
    require(request, "members.view")
    _check_choice(filters.status, MEMBER_STATUSES, "status")
    members = member_list(tenant=request.tenant, filters={  # type: ignore[attr-defined]
        "status": filters.status, "role": filters.role_id, "q": filters.q,
    })
    return paginate(members, page, ordering=("created_at", "id"))


@router.get("/members/{membership_id}", response=MemberOut)
def members_get(request: HttpRequest, membership_id: UUID):
    """One member. Needs `members.view`."""
    require(request, "members.view")
    return member_get(tenant=request.tenant, membership_id=membership_id)  # type: ignore[attr-defined]


@router.patch("/members/{membership_id}", response=MemberOut)
def members_update(request: HttpRequest, membership_id: UUID, payload: MemberPatch):
    """Change a member's role and/or end date, all or nothing. Needs `members.change`; only
    owners grant the owner role or change an owner, and the organization keeps an owner."""
    actor = require(request, "members.change")
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    sent: dict[str, Any] = payload.model_dump(exclude_unset=True)
    if "role_id" in sent and sent["role_id"] is None:
        raise ValidationFailed(fields={"role_id": [_("A member always has a role.")]})
    with transaction.atomic():
        if "role_id" in sent:
            membership = member_change_role(tenant=tenant, actor=actor, membership=membership,
                                            role=_role_for(request, sent["role_id"]))
        if "expires_at" in sent:
            membership = member_set_expiry(tenant=tenant, actor=actor, membership=membership,
                                           expires_at=sent["expires_at"])
    return member_get(tenant=tenant, membership_id=membership.pk)


@router.post("/members/{membership_id}/disable", response=MemberOut)
def members_disable(request: HttpRequest, membership_id: UUID):
    """End the member's access to this organization at once (their sessions and API keys stop
    reaching it); the membership stays. Disabling twice is harmless. Needs `members.change`."""
    actor = require(request, "members.change")
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    return member_disable(tenant=tenant, actor=actor, membership=membership)


@router.post("/members/{membership_id}/enable", response=MemberOut)
def members_enable(request: HttpRequest, membership_id: UUID):
    """Give a disabled member their access back. Needs `members.change`."""
    actor = require(request, "members.change")
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    return member_enable(tenant=tenant, actor=actor, membership=membership)


@router.delete("/members/{membership_id}", response={204: None})
def members_remove(request: HttpRequest, membership_id: UUID):
    """Remove a member from the organization (their account stays). Needs `members.delete`."""
    actor = require(request, "members.delete")
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = member_get(tenant=tenant, membership_id=membership_id)
    member_remove(tenant=tenant, actor=actor, membership=membership)
    return Status(204, None)


@router.get("/invitations", response=Page[InvitationOut])
def invitations_list(request: HttpRequest, page: Query[PageParams],
                     filters: Query[InvitationFilter]):
    """Invitations, newest first; pending ones unless `status` says otherwise. Needs
    `members.view`."""
    require(request, "members.view")
    status = filters.status or "pending"
    _check_choice(status, (*INVITATION_STATUSES, "all"), "status")
    invitations = invitation_list(tenant=request.tenant,  # type: ignore[attr-defined]
                                  pending_only=status == "pending")
    now = timezone.now()
    if status == "accepted":
        invitations = invitations.filter(accepted_at__isnull=False)
    elif status == "revoked":
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=False)
    elif status == "expired":
        invitations = invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                                         expires_at__lte=now)
    return paginate(invitations, page)


@router.post("/invitations", response={201: InvitationOut})
def invitations_create(request: HttpRequest, payload: InvitationIn):
    """Invite someone by email; they get a link valid for 7 days (the link's token is never
    returned or stored). A pending invitation to the same address is replaced. Needs
    `members.add` and the right to grant the role."""
    actor = require(request, "members.add")
    invitation, _token = invitation_create(
        tenant=request.tenant, actor=actor, email=payload.email,  # type: ignore[attr-defined]
        role=_role_for(request, payload.role_id),
    )
    return Status(201, invitation)


@router.get("/invitations/{invitation_id}", response=InvitationOut)
def invitations_get(request: HttpRequest, invitation_id: UUID):
    """One invitation. Needs `members.view`."""
    require(request, "members.view")
    return invitation_get(tenant=request.tenant, invitation_id=invitation_id)  # type: ignore[attr-defined]


@router.post("/invitations/{invitation_id}/revoke", response=InvitationOut)
def invitations_revoke(request: HttpRequest, invitation_id: UUID):
    """Make a pending invitation's link stop working; 409 if it is no longer pending. Needs
    `members.delete`."""
    actor = require(request, "members.delete")
    tenant = request.tenant  # type: ignore[attr-defined]
    invitation = invitation_get(tenant=tenant, invitation_id=invitation_id)
    return invitation_revoke(tenant=tenant, actor=actor, invitation=invitation)
