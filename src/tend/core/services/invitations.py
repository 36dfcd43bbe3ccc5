"""Inviting people into an organization by email.

An invitation carries a random token that is emailed as a link and never stored: the database
keeps only its SHA-256, so a leaked database cannot be turned into working links. Invitations
expire after `INVITATION_TTL`; inviting the same address again replaces the pending one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import Invitation, Membership, Role, Tenant, User
from tend.core.origins import public_origin
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_can_grant, check_perm, check_role_of_tenant
from tend.core.services.tenants import user_create

logger = logging.getLogger(__name__)

INVITATION_TTL = timedelta(days=7)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    """The emailed link: on the public origin (`TEND_PUBLIC_URL`), else `TEND_BASE_URL`."""
    origin = public_origin(fallback_url=settings.BASE_URL)
    return origin + reverse("core:invite-accept", kwargs={"token": token})


def _normalize_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not email:
        raise ValidationFailed(fields={"email": [_("This field is required.")]})
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationFailed(fields={"email": [_("Enter a valid email address.")]}) from None
    return email


def _send_invitation_email(*, tenant: Tenant, invitation: Invitation, token: str,
                           inviter_name: str) -> None:
    with translation.override(tenant.default_language or settings.LANGUAGE_CODE):
        context = {
            "organization": tenant.name,
            "inviter": inviter_name,
            "role": invitation.role.display_name,
            "url": invitation_url(token),
            "expires_at": invitation.expires_at,
        }
        subject = render_to_string("core/email/invitation_subject.txt", context).strip()
        body = render_to_string("core/email/invitation.txt", context)
    try:
        send_mail(subject, body, None, [invitation.email])
    except Exception:  # the invitation stands; it can be sent again from the members page
        logger.exception("could not send invitation %s", invitation.pk)


def invitation_create(*, tenant: Tenant, actor: Actor, email: str,
                      role: Role) -> tuple[Invitation, str]:
    """Invite `email` to join `tenant` with `role`; email the link after commit.

    Needs `members.add` and the right to grant `role`. Refused when the address already
    belongs to a member (a disabled member is enabled instead). A pending invitation to the
    same address is revoked and replaced. Returns the invitation and the plain token — the
    only time the token exists outside the email.
    """
    check_perm(actor, "members.add")
    email = _normalize_email(email)
    check_role_of_tenant(role, tenant)
    check_can_grant(actor, role)
    existing = (
        Membership.objects.filter(tenant=tenant, user__email__iexact=email)
        .values_list("is_active", flat=True)
        .first()
    )
    if existing is not None:
        message = (
            _("This person is already a member.")
            if existing
            else _("This person is a disabled member: enable them instead.")
        )
        raise ValidationFailed(fields={"email": [message]})

    now = timezone.now()
    with transaction.atomic():
        replaced = list(
            Invitation.objects.select_for_update()
            .filter(tenant=tenant, email=email, accepted_at__isnull=True,
                    revoked_at__isnull=True, expires_at__gt=now)
            .values_list("pk", flat=True)
        )
        if replaced:
            Invitation.objects.filter(pk__in=replaced).update(revoked_at=now, updated_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            tenant=tenant,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=actor.acting_user,
            expires_at=now + INVITATION_TTL,
            created_by=actor.acting_user,
            updated_by=actor.acting_user,
        )
        audit_record(
            tenant=tenant, actor=actor, action="invitation.created",
            entity_type="invitation", entity_id=invitation.pk,
            changes={"role": str(role.pk), "replaced": [str(pk) for pk in replaced]},
        )
        inviter = actor.acting_user
        inviter_name = inviter.get_full_name() if inviter else tenant.name
        transaction.on_commit(
            lambda: _send_invitation_email(
                tenant=tenant, invitation=invitation, token=token, inviter_name=inviter_name
            )
        )
    return invitation, token


def invitation_revoke(*, tenant: Tenant, actor: Actor, invitation: Invitation) -> Invitation:
    """Make a pending invitation's link stop working. Needs `members.delete`."""
    check_perm(actor, "members.delete")
    if invitation.tenant_id != tenant.pk:
        raise ValidationFailed(
            fields={"invitation": [_("Not an invitation of this organization.")]}
        )
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_pending:
            raise Conflict(_("This invitation is no longer pending."))
        invitation.revoked_at = timezone.now()
        invitation.updated_by = actor.acting_user
        invitation.save(update_fields=["revoked_at", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor, action="invitation.revoked",
            entity_type="invitation", entity_id=invitation.pk,
        )
    return invitation


def invitation_accept(*, invitation: Invitation, user: User | None = None, full_name: str = "",
                      password: str = "", ip: str | None = None,
                      user_agent: str = "") -> Membership:
    """Join the invitation's organization; run inside `tenant_scope(invitation.tenant)`.

    With `user` (a signed-in person) the invitation's email must be theirs. Without, a new
    account is made from `full_name` and `password` — refused if an account with the email
    already exists (that person signs in first). A former member (e.g. disabled) is brought
    back with the invitation's role. The invitation is used up.
    """
    tenant = invitation.tenant
    if not invitation.is_pending:
        raise Conflict(_("This invitation has expired or was already used."))
    if user is not None:
        if user.email.lower() != invitation.email.lower():
            raise PermissionDenied(_("This invitation was sent to a different email address."))
        if not user.is_active:
            raise PermissionDenied(_("This account is disabled."))
    else:
        errors: dict[str, list[str]] = {}
        full_name = (full_name or "").strip()
        if not full_name:
            errors["full_name"] = [_("This field is required.")]
        elif len(full_name) > 200:
            errors["full_name"] = [_("Use at most 200 characters.")]
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise Conflict(_("An account with this email exists: sign in to accept."))
        try:
            validate_password(password or "", User(email=invitation.email, full_name=full_name))
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
        if errors:
            raise ValidationFailed(fields=errors)

    with transaction.atomic():
        locked = Invitation.objects.select_for_update().select_related("role").get(
            pk=invitation.pk
        )
        if not locked.is_pending:
            raise Conflict(_("This invitation has expired or was already used."))
        if user is None:
            user = user_create(email=locked.email, password=password, full_name=full_name,
                               language=tenant.default_language)
        actor = Actor(kind="user", user=user, ip=ip, user_agent=user_agent)
        membership = Membership.objects.filter(tenant=tenant, user=user).first()
        if membership is None:
            membership = Membership.objects.create(
                tenant=tenant, user=user, role=locked.role, granted_by=locked.invited_by,
                created_by=user, updated_by=user,
            )
        else:
            membership.role = locked.role
            membership.is_active = True
            membership.expires_at = None
            membership.granted_by = locked.invited_by
            membership.updated_by = user
            membership.save()
        locked.accepted_at = timezone.now()
        locked.updated_by = user
        locked.save(update_fields=["accepted_at", "updated_by", "updated_at"])
        audit_record(
            tenant=tenant, actor=actor, action="invitation.accepted",
            entity_type="invitation", entity_id=locked.pk,
            changes={"user": str(user.pk), "membership": str(membership.pk),
                     "role": str(locked.role_id)},
        )
    return membership
