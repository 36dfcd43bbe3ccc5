"""Member services: role, expiry, disable/enable, remove, and the last-owner rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Membership
from tend.core.selectors.access import membership_for
from tend.core.services.members import (
    LastOwnerError,
    member_change_role,
    member_disable,
    member_enable,
    member_remove,
    member_set_expiry,
)
from tend.core.services.roles import role_create
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.tests.accounts_helpers import actor_of, add_member, membership_of, role_of


@pytest.fixture
def admin(make_user, tenant):
    user = make_user("admin@example.com", full_name="Ada Admin")
    add_member(tenant, user, "admin")
    return user


@pytest.fixture
def viewer(make_user, tenant):
    user = make_user("viewer@example.com", full_name="Vic Viewer")
    add_member(tenant, user, "viewer")
    return user


def last_audit(tenant):
    with tenant_scope(tenant):
        return AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()


def test_change_role_updates_membership_and_audits(tenant, admin, viewer):
    membership = membership_of(tenant, viewer)
    agent = role_of(tenant, "agent")
    with tenant_scope(tenant):
        result = member_change_role(tenant=tenant, actor=actor_of(tenant, admin),
                                    membership=membership, role=agent)
    assert result.role_id == agent.pk
    assert membership_of(tenant, viewer).role.key == "agent"
    assert membership_of(tenant, viewer).granted_by_id == admin.pk
    entry = last_audit(tenant)
    assert entry.action == "member.role_changed"
    assert entry.actor_id == str(admin.pk)
    assert entry.entity_id == str(membership.pk)
    assert entry.changes == {
        "user": str(viewer.pk),
        "role": {"before": str(role_of(tenant, "viewer").pk), "after": str(agent.pk)},
    }


def test_change_role_to_same_role_writes_nothing(tenant, admin, viewer):
    before = last_audit(tenant).seq
    with tenant_scope(tenant):
        member_change_role(tenant=tenant, actor=actor_of(tenant, admin),
                           membership=membership_of(tenant, viewer),
                           role=role_of(tenant, "viewer"))
    assert last_audit(tenant).seq == before


def test_viewer_cannot_change_roles(tenant, viewer, admin):
    with tenant_scope(tenant), pytest.raises(PermissionDenied) as info:
        member_change_role(tenant=tenant, actor=actor_of(tenant, viewer),
                           membership=membership_of(tenant, admin),
                           role=role_of(tenant, "viewer"))
    assert info.value.extra["missing"] == ["members.change"]
    assert membership_of(tenant, admin).role.key == "admin"


def test_only_owners_grant_the_owner_role(tenant, owner, admin, viewer):
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied) as info:
            member_change_role(tenant=tenant, actor=actor_of(tenant, admin),
                               membership=membership_of(tenant, viewer),
                               role=role_of(tenant, "owner"))
        assert info.value.message == "Only owners can grant the owner role."
        member_change_role(tenant=tenant, actor=actor_of(tenant, owner),
                           membership=membership_of(tenant, viewer),
                           role=role_of(tenant, "owner"))
    assert membership_of(tenant, viewer).role.key == "owner"


def test_admin_cannot_touch_an_owner(tenant, owner, admin):
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied):
            member_change_role(tenant=tenant, actor=actor_of(tenant, admin),
                               membership=membership_of(tenant, owner),
                               role=role_of(tenant, "viewer"))
        with pytest.raises(PermissionDenied):
            member_disable(tenant=tenant, actor=actor_of(tenant, admin),
                           membership=membership_of(tenant, owner))
        with pytest.raises(PermissionDenied):
            member_remove(tenant=tenant, actor=actor_of(tenant, admin),
                          membership=membership_of(tenant, owner))
    assert membership_of(tenant, owner).is_active is True


def test_cannot_grant_a_role_beyond_own_permissions(tenant, owner, admin, viewer):
    with tenant_scope(tenant):
        big = role_create(tenant=tenant, actor=actor_of(tenant, owner), key="big", name="Big",
                          permissions=["organization.delete", "members.view"])
        with pytest.raises(PermissionDenied) as info:
            member_change_role(tenant=tenant, actor=actor_of(tenant, admin),
                               membership=membership_of(tenant, viewer), role=big)
    assert info.value.extra["missing"] == ["organization.delete"]
    assert info.value.fields == {"role": ["This role has permissions you do not have."]}


def test_role_of_another_tenant_is_refused(tenant, make_tenant, owner, viewer):
    other = make_tenant("Other", slug="other")
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as info:
        member_change_role(tenant=tenant, actor=actor_of(tenant, owner),
                           membership=membership_of(tenant, viewer),
                           role=role_of(other, "admin"))
    assert info.value.fields == {"role": ["Choose a role of this organization."]}


def test_membership_of_another_tenant_is_refused(tenant, make_tenant, make_user, owner):
    outsider = make_user("out@example.com")
    other = make_tenant("Other", slug="other", owner=outsider)
    with tenant_scope(tenant), pytest.raises(ValidationFailed):
        member_disable(tenant=tenant, actor=actor_of(tenant, owner),
                       membership=membership_of(other, outsider))
    assert membership_of(other, outsider).is_active is True


def test_last_owner_cannot_step_down_but_can_with_a_second_owner(tenant, owner, make_user):
    with tenant_scope(tenant), pytest.raises(LastOwnerError) as info:
        member_change_role(tenant=tenant, actor=actor_of(tenant, owner),
                           membership=membership_of(tenant, owner),
                           role=role_of(tenant, "admin"))
    assert info.value.status == 409
    assert info.value.code == "last_owner"
    assert info.value.message == "An organization must keep at least one active owner."
    second = make_user("second@example.com")
    add_member(tenant, second, "owner")
    with tenant_scope(tenant):
        member_change_role(tenant=tenant, actor=actor_of(tenant, owner),
                           membership=membership_of(tenant, owner),
                           role=role_of(tenant, "admin"))
    assert membership_of(tenant, owner).role.key == "admin"


def test_disabled_or_expiring_owners_do_not_count(tenant, owner, make_user):
    disabled = make_user("d@example.com")
    add_member(tenant, disabled, "owner", is_active=False)
    expiring = make_user("e@example.com")
    add_member(tenant, expiring, "owner", expires_at=timezone.now() + timedelta(days=3))
    with tenant_scope(tenant), pytest.raises(LastOwnerError):
        member_remove(tenant=tenant, actor=Actor.system(),
                      membership=membership_of(tenant, owner))


def test_set_expiry_and_clear(tenant, admin, viewer):
    when = timezone.now() + timedelta(days=30)
    with tenant_scope(tenant):
        member_set_expiry(tenant=tenant, actor=actor_of(tenant, admin),
                          membership=membership_of(tenant, viewer), expires_at=when)
    assert membership_of(tenant, viewer).expires_at == when
    entry = last_audit(tenant)
    assert (entry.action, entry.changes["expires_at"]) == (
        "member.expiry_set", {"before": None, "after": when.isoformat()}
    )
    with tenant_scope(tenant):
        member_set_expiry(tenant=tenant, actor=actor_of(tenant, admin),
                          membership=membership_of(tenant, viewer), expires_at=None)
    assert membership_of(tenant, viewer).expires_at is None


def test_expiry_must_be_aware_and_in_the_future(tenant, admin, viewer):
    with tenant_scope(tenant):
        with pytest.raises(ValidationFailed) as past:
            member_set_expiry(tenant=tenant, actor=actor_of(tenant, admin),
                              membership=membership_of(tenant, viewer),
                              expires_at=timezone.now() - timedelta(minutes=1))
        with pytest.raises(ValidationFailed) as naive:
            member_set_expiry(tenant=tenant, actor=actor_of(tenant, admin),
                              membership=membership_of(tenant, viewer),
                              expires_at=datetime(2999, 1, 1))
    assert past.value.fields == {"expires_at": ["Choose a time in the future."]}
    assert naive.value.fields == {"expires_at": ["Give a time zone."]}


def test_expiry_on_the_last_owner_is_refused(tenant, owner):
    with tenant_scope(tenant), pytest.raises(LastOwnerError):
        member_set_expiry(tenant=tenant, actor=actor_of(tenant, owner),
                          membership=membership_of(tenant, owner),
                          expires_at=timezone.now() + timedelta(days=1))


def test_disable_ends_access_to_this_organization_only(tenant, make_tenant, admin, viewer):
    other = make_tenant("Other", slug="other")
    add_member(other, viewer, "agent")
    epoch = viewer.session_epoch
    with tenant_scope(tenant):
        result = member_disable(tenant=tenant, actor=actor_of(tenant, admin),
                                membership=membership_of(tenant, viewer))
    assert result.is_active is False
    with system_scope():
        assert membership_for(user=viewer, org_slug="acme") is None
        assert membership_for(user=viewer, org_slug="other").role.key == "agent"
    viewer.refresh_from_db()
    assert viewer.session_epoch == epoch  # the account's other organizations keep working
    entry = last_audit(tenant)
    assert (entry.action, entry.changes) == ("member.disabled", {"user": str(viewer.pk)})


def test_enable_restores_access(tenant, admin, viewer):
    with tenant_scope(tenant):
        member_disable(tenant=tenant, actor=actor_of(tenant, admin),
                       membership=membership_of(tenant, viewer))
        member_enable(tenant=tenant, actor=actor_of(tenant, admin),
                      membership=membership_of(tenant, viewer))
    with system_scope():
        assert membership_for(user=viewer, org_slug="acme").role.key == "viewer"
    assert last_audit(tenant).action == "member.enabled"


def test_nobody_disables_themselves(tenant, admin):
    with tenant_scope(tenant), pytest.raises(PermissionDenied) as info:
        member_disable(tenant=tenant, actor=actor_of(tenant, admin),
                       membership=membership_of(tenant, admin))
    assert info.value.message == "You cannot disable your own membership."


def test_last_owner_cannot_be_disabled(tenant, owner):
    with tenant_scope(tenant), pytest.raises(LastOwnerError):
        member_disable(tenant=tenant, actor=Actor.system(),
                       membership=membership_of(tenant, owner))


def test_remove_deletes_membership_and_audits(tenant, admin, viewer):
    membership = membership_of(tenant, viewer)
    with tenant_scope(tenant):
        member_remove(tenant=tenant, actor=actor_of(tenant, admin), membership=membership)
        assert not Membership.objects.filter(tenant=tenant, user=viewer).exists()
    entry = last_audit(tenant)
    assert (entry.action, entry.entity_id, entry.changes) == (
        "member.removed", str(membership.pk),
        {"user": str(viewer.pk), "role": str(role_of(tenant, "viewer").pk)},
    )


def test_an_owner_may_leave_when_another_owner_stays(tenant, owner, make_user):
    second = make_user("second@example.com")
    add_member(tenant, second, "owner")
    with tenant_scope(tenant):
        member_remove(tenant=tenant, actor=actor_of(tenant, owner),
                      membership=membership_of(tenant, owner))
        assert list(Membership.objects.filter(tenant=tenant).values_list(
            "user__email", flat=True)) == ["second@example.com"]
