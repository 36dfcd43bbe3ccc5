"""Custom role services and the permission matrix."""

from __future__ import annotations

import pytest

from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Role
from tend.core.selectors.roles import permission_matrix, role_list
from tend.core.services.invitations import invitation_create
from tend.core.services.roles import role_create, role_delete, role_update
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import actor_of, add_member, role_of


@pytest.fixture
def admin(make_user, tenant):
    user = make_user("admin@example.com")
    add_member(tenant, user, "admin")
    return user


def create(tenant, user, **kw):
    data = {"key": "team-lead", "name": "Team lead", "description": "Leads a team",
            "permissions": ["members.view", "tags.view", "tags.add"]}
    data.update(kw)
    with tenant_scope(tenant):
        return role_create(tenant=tenant, actor=actor_of(tenant, user), **data)


def test_create_role(tenant, owner):
    role = create(tenant, owner, key=" Team-Lead ", permissions=["tags.view", "members.view",
                                                                   "tags.view"])
    assert (role.key, role.name, role.description, role.is_builtin) == (
        "team-lead", "Team lead", "Leads a team", False)
    assert role.permissions == ["members.view", "tags.view"]
    assert role.permission_set() == frozenset({"members.view", "tags.view"})
    with tenant_scope(tenant):
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
    assert (entry.action, entry.changes) == (
        "role.created", {"key": "team-lead", "permissions": ["members.view", "tags.view"]})


def test_create_validates_every_field(tenant, owner):
    with pytest.raises(ValidationFailed) as info:
        create(tenant, owner, key="Bad Key!", name="", description="x" * 301,
               permissions=["members.view", "nope.view", "members.fly"])
    assert info.value.fields == {
        "key": ["Use lowercase letters, digits, - and _ (at most 50)."],
        "name": ["This field is required."],
        "description": ["Use at most 300 characters."],
        "permissions": ["Unknown permission: members.fly.", "Unknown permission: nope.view."],
    }
    with pytest.raises(ValidationFailed) as builtin:
        create(tenant, owner, key="admin")
    assert builtin.value.fields == {"key": ["This key belongs to a built-in role."]}
    create(tenant, owner)
    with pytest.raises(ValidationFailed) as taken:
        create(tenant, owner)
    assert taken.value.fields == {"key": ["A role with this key exists."]}
    with pytest.raises(ValidationFailed) as not_list:
        create(tenant, owner, key="x", permissions="members.view")
    assert not_list.value.fields == {"permissions": ["Give a list of permissions."]}


def test_cannot_put_permissions_one_lacks_into_a_role(tenant, admin):
    with pytest.raises(ValidationFailed) as info:
        create(tenant, admin, permissions=["organization.delete", "tags.view"])
    assert info.value.fields == {"permissions": [
        "You cannot grant a permission you do not have: organization.delete."]}


def test_needs_roles_permissions(tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        create(tenant, viewer)


def test_update_role(tenant, owner, admin):
    role = create(tenant, owner, permissions=["organization.delete", "tags.view"])
    with tenant_scope(tenant):
        # The admin lacks organization.delete but may keep it and add what they hold.
        role_update(tenant=tenant, actor=actor_of(tenant, admin), role=role, name="Lead",
                    permissions=["organization.delete", "tags.view", "tags.add"])
        role.refresh_from_db()
        assert (role.name, role.description, role.permissions) == (
            "Lead", "Leads a team", ["organization.delete", "tags.add", "tags.view"])
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
        assert entry.changes == {
            "name": {"before": "Team lead", "after": "Lead"},
            "permissions": {"before": ["organization.delete", "tags.view"],
                            "after": ["organization.delete", "tags.add", "tags.view"]},
        }
        with pytest.raises(ValidationFailed):
            role_update(tenant=tenant, actor=actor_of(tenant, admin), role=role,
                        permissions=["organization.delete", "organization.view", "nope.view"])


def test_builtin_roles_are_read_only(tenant, owner):
    admin_role = role_of(tenant, "admin")
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied) as info:
            role_update(tenant=tenant, actor=actor_of(tenant, owner), role=admin_role,
                        name="Boss")
        assert info.value.message == "Built-in roles cannot be changed."
        with pytest.raises(PermissionDenied):
            role_delete(tenant=tenant, actor=actor_of(tenant, owner), role=admin_role)
    assert role_of(tenant, "admin").name == "Admin"


def test_role_in_use_cannot_be_deleted(tenant, owner, make_user):
    role = create(tenant, owner)
    user = make_user("lead@example.com")
    add_member(tenant, user, "team-lead")
    with tenant_scope(tenant), pytest.raises(Conflict) as info:
        role_delete(tenant=tenant, actor=actor_of(tenant, owner), role=role)
    assert info.value.message == (
        "This role is in use by members; give them another role first.")
    other = create(tenant, owner, key="other")
    with tenant_scope(tenant):
        invitation_create(tenant=tenant, actor=actor_of(tenant, owner),
                          email="x@example.com", role=other)
        with pytest.raises(Conflict) as pending:
            role_delete(tenant=tenant, actor=actor_of(tenant, owner), role=other)
    assert pending.value.message == "Pending invitations use this role; revoke them first."


def test_delete_unused_role(tenant, owner):
    role = create(tenant, owner)
    role_id = str(role.pk)
    with tenant_scope(tenant):
        role_delete(tenant=tenant, actor=actor_of(tenant, owner), role=role)
        assert not Role.objects.filter(tenant=tenant, key="team-lead").exists()
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
    assert (entry.action, entry.entity_id, entry.changes) == (
        "role.deleted", role_id, {"key": "team-lead"})


def test_role_list_counts_members(tenant, owner, make_user):
    add_member(tenant, make_user(), "viewer")
    add_member(tenant, make_user(), "viewer")
    with tenant_scope(tenant):
        counts = {r.key: r.member_count for r in role_list(tenant=tenant)}
    assert counts == {"owner": 1, "admin": 0, "manager": 0, "agent": 0, "affiliate": 0,
                      "viewer": 2}


def test_permission_matrix_marks_granted_and_missing_actions():
    actions, rows = permission_matrix({"members.view", "apikeys.manage"})
    assert actions == ("view", "add", "change", "delete", "export", "send", "manage")
    members = next(r for r in rows if r.area == "members")
    assert [(c.permission, c.checked) for c in members.cells] == [
        ("members.view", True), ("members.add", False), ("members.change", False),
        ("members.delete", False), ("", False), ("", False), ("", False),
    ]
    apikeys = next(r for r in rows if r.area == "apikeys")
    assert [c.permission for c in apikeys.cells if c.checked] == ["apikeys.manage"]
