"""Invitation services: create (hash only, email, replace), revoke, accept."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Invitation, Membership, User
from tend.core.selectors.members import invitation_for_token, invitation_list
from tend.core.services.invitations import (
    INVITATION_TTL,
    invitation_accept,
    invitation_create,
    invitation_revoke,
)
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import actor_of, add_member, membership_of, role_of


def invite(tenant, actor_user, email="new@example.com", role_key="agent"):
    with tenant_scope(tenant):
        return invitation_create(tenant=tenant, actor=actor_of(tenant, actor_user),
                                 email=email, role=role_of(tenant, role_key))


def test_create_stores_only_the_hash_and_emails_the_link(
    tenant, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite(tenant, owner, email="  New@Example.com ")
    assert invitation.email == "new@example.com"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    assert invitation.expires_at - invitation.created_at == pytest.approx(
        INVITATION_TTL, abs=timedelta(seconds=5))
    assert invitation.invited_by_id == owner.pk
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new@example.com"]
    assert message.subject == "You are invited to Acme Club on Tend"
    assert f"http://127.0.0.1:8000/invite/{token}/" in message.body
    assert "Olive Owner invited you to join Acme Club on Tend as Agent." in message.body
    with tenant_scope(tenant):
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
        assert (entry.action, entry.entity_id) == ("invitation.created", str(invitation.pk))
        assert entry.changes == {"role": str(role_of(tenant, "agent").pk), "replaced": []}
        assert "new@example.com" not in str(entry.changes)


def test_the_link_is_on_the_public_origin_when_it_is_set(
    tenant, owner, settings, django_capture_on_commit_callbacks
):
    settings.TEND_PUBLIC_URL = "https://crm.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, token = invite(tenant, owner)
    assert f"https://crm.example.org/invite/{token}/" in mail.outbox[0].body


def test_no_email_without_commit(tenant, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invite(tenant, owner)
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_inviting_again_replaces_the_pending_invitation(tenant, owner):
    first, _first_token = invite(tenant, owner)
    second, _token = invite(tenant, owner)
    with tenant_scope(tenant):
        first.refresh_from_db()
        assert first.revoked_at is not None
        assert [i.pk for i in invitation_list(tenant=tenant)] == [second.pk]
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
        assert entry.changes["replaced"] == [str(first.pk)]


def test_bad_email_and_existing_member_are_refused(tenant, owner, make_user):
    with pytest.raises(ValidationFailed) as bad:
        invite(tenant, owner, email="not-an-email")
    assert bad.value.fields == {"email": ["Enter a valid email address."]}
    with pytest.raises(ValidationFailed) as empty:
        invite(tenant, owner, email="")
    assert empty.value.fields == {"email": ["This field is required."]}
    with pytest.raises(ValidationFailed) as member:
        invite(tenant, owner, email="OWNER@example.com")
    assert member.value.fields == {"email": ["This person is already a member."]}
    disabled = make_user("gone@example.com")
    add_member(tenant, disabled, "viewer", is_active=False)
    with pytest.raises(ValidationFailed) as gone:
        invite(tenant, owner, email="gone@example.com")
    assert gone.value.fields == {
        "email": ["This person is a disabled member: enable them instead."]}


def test_permissions_and_owner_role(tenant, make_user):
    admin = make_user("admin@example.com")
    add_member(tenant, admin, "admin")
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        invite(tenant, viewer)
    with pytest.raises(PermissionDenied) as owner_role:
        invite(tenant, admin, role_key="owner")
    assert owner_role.value.message == "Only owners can grant the owner role."
    invitation, _token = invite(tenant, admin, role_key="manager")
    assert invitation.role.key == "manager"


def test_revoke(tenant, owner):
    invitation, token = invite(tenant, owner)
    with tenant_scope(tenant):
        invitation_revoke(tenant=tenant, actor=actor_of(tenant, owner), invitation=invitation)
        invitation.refresh_from_db()
        assert invitation.revoked_at is not None
        with pytest.raises(Conflict):
            invitation_revoke(tenant=tenant, actor=actor_of(tenant, owner),
                              invitation=invitation)
    assert invitation_for_token(token).is_pending is False


def test_token_lookup(tenant, owner):
    invitation, token = invite(tenant, owner)
    assert invitation_for_token(token).pk == invitation.pk
    assert invitation_for_token(token + "x") is None
    assert invitation_for_token("") is None


def test_accept_as_new_person_creates_account_and_membership(tenant, owner):
    invitation, token = invite(tenant, owner)
    found = invitation_for_token(token)
    with tenant_scope(tenant):
        membership = invitation_accept(invitation=found, full_name="Nora New",
                                       password="a long unusual passphrase")
    user = User.objects.get(email="new@example.com")
    assert user.full_name == "Nora New"
    assert user.check_password("a long unusual passphrase")
    assert (membership.user_id, membership.role.key, membership.granted_by_id) == (
        user.pk, "agent", owner.pk)
    with tenant_scope(tenant):
        invitation.refresh_from_db()
        assert invitation.accepted_at is not None
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
        assert (entry.action, entry.actor_id) == ("invitation.accepted", str(user.pk))
    with tenant_scope(tenant), pytest.raises(Conflict):
        invitation_accept(invitation=invitation_for_token(token), user=user)


def test_accept_new_person_validation(tenant, owner):
    _invitation, token = invite(tenant, owner)
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as info:
        invitation_accept(invitation=invitation_for_token(token), full_name="",
                          password="123")
    assert info.value.fields["full_name"] == ["This field is required."]
    assert "This password is too short. It must contain at least 8 characters." in (
        info.value.fields["password"])
    assert not User.objects.filter(email="new@example.com").exists()


def test_accept_when_account_exists_needs_sign_in(tenant, owner, make_user):
    make_user("new@example.com")
    _invitation, token = invite(tenant, owner)
    with tenant_scope(tenant), pytest.raises(Conflict) as info:
        invitation_accept(invitation=invitation_for_token(token), full_name="X",
                          password="a long unusual passphrase")
    assert info.value.message == "An account with this email exists: sign in to accept."


def test_existing_user_joins_and_email_must_match(tenant, owner, make_user, make_tenant):
    person = make_user("new@example.com")
    someone = make_user("someone@example.com")
    _invitation, token = invite(tenant, owner)
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied) as info:
            invitation_accept(invitation=invitation_for_token(token), user=someone)
        assert info.value.message == "This invitation was sent to a different email address."
        membership = invitation_accept(invitation=invitation_for_token(token), user=person)
    assert membership_of(tenant, person).pk == membership.pk
    assert membership.role.key == "agent"
    with tenant_scope(tenant):
        assert not Membership.objects.filter(user=someone).exists()


def test_expired_invitation_cannot_be_accepted(tenant, owner, make_user):
    invitation, token = invite(tenant, owner)
    with tenant_scope(tenant):
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1))
        with pytest.raises(Conflict) as info:
            invitation_accept(invitation=invitation_for_token(token),
                              user=make_user("new@example.com"))
    assert info.value.message == "This invitation has expired or was already used."


def test_email_body_link_opens_the_accept_page(tenant, owner, client,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invite(tenant, owner)
    link = re.search(r"http://127\.0\.0\.1:8000(/invite/[^/\s]+/)", mail.outbox[0].body)
    response = client.get(link.group(1))
    assert response.status_code == 200
    assert b'id="invite-account-form"' in response.content
