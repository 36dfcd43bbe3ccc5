"""API: members, invitations, roles and the permission registry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tend.core.models import AuditLog, Invitation, Membership, Role
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member, membership_of, role_of
from tend.core.tests.apitools import bearer, make_key, signed_in


@pytest.fixture
def viewer(make_user, tenant):
    user = make_user("viewer@example.com", full_name="Vic Viewer")
    add_member(tenant, user, "viewer")
    return user


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


# --- members -------------------------------------------------------------------------------


def test_list_members(api, tenant, owner, viewer):
    response = api.get("/api/v1/members")
    assert response.status_code == 200
    body = response.json()
    assert body["next_cursor"] is None
    viewer_membership = membership_of(tenant, viewer)
    assert body["items"][1] == {
        "id": str(viewer_membership.pk),
        "user": {"id": str(viewer.pk), "email": "viewer@example.com", "full_name": "Vic Viewer"},
        "role": {"id": str(viewer_membership.role_id), "key": "viewer", "name": "Viewer"},
        "status": "active", "is_active": True, "expires_at": None, "granted_by_id": None,
        "created_at": body["items"][1]["created_at"],
    }
    assert body["items"][1]["created_at"].startswith(
        viewer_membership.created_at.strftime("%Y-%m-%dT%H:%M:%S."))
    assert [m["user"]["email"] for m in body["items"]] == [
        "owner@example.com", "viewer@example.com"]


def test_list_members_filters_and_paginates(api, tenant, make_user,
                                            django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        api.get("/api/v1/members?limit=3")
    for i in range(5):
        add_member(tenant, make_user(f"m{i}@example.com"), "agent", is_active=i != 0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        first = api.get("/api/v1/members?limit=3").json()
    assert len(first["items"]) == 3
    rest = api.get(f"/api/v1/members?limit=3&cursor={first['next_cursor']}").json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    disabled = api.get("/api/v1/members?status=disabled").json()["items"]
    assert [m["user"]["email"] for m in disabled] == ["m0@example.com"]
    agents = api.get(f"/api/v1/members?role_id={role_of(tenant, 'agent').pk}").json()["items"]
    assert len(agents) == 5
    assert api.get("/api/v1/members?q=m3").json()["items"][0]["user"]["email"] == (
        "m3@example.com")
    body = problem(api.get("/api/v1/members?status=gone"), 422)
    assert body["errors"][0]["field"] == "status"


def test_members_need_permission(tenant, owner, viewer):
    _key, secret = make_key(tenant, owner, ["organization.view"])
    from django.test import Client

    assert problem(Client().get("/api/v1/members", headers=bearer(secret)), 403)["code"] == (
        "permission_denied")
    client = signed_in(viewer, tenant)
    assert problem(client.get("/api/v1/members"), 403)["code"] == "permission_denied"


def test_patch_member_role_and_expiry(api, tenant, owner, viewer):
    membership = membership_of(tenant, viewer)
    agent = role_of(tenant, "agent")
    when = (timezone.now() + timedelta(days=10)).replace(microsecond=0)
    response = patch(api, f"/api/v1/members/{membership.pk}",
                     {"role_id": str(agent.pk), "expires_at": when.isoformat()})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["role"]["key"] == "agent"
    assert body["granted_by_id"] == str(owner.pk)
    assert membership_of(tenant, viewer).expires_at == when
    cleared = patch(api, f"/api/v1/members/{membership.pk}", {"expires_at": None})
    assert cleared.json()["expires_at"] is None


def test_patch_member_is_all_or_nothing(api, tenant, viewer):
    membership = membership_of(tenant, viewer)
    response = patch(api, f"/api/v1/members/{membership.pk}", {
        "role_id": str(role_of(tenant, "agent").pk),
        "expires_at": (timezone.now() - timedelta(days=1)).isoformat()})
    body = problem(response, 422)
    assert body["errors"] == [{"field": "expires_at", "loc": ["expires_at"],
                               "message": "Choose a time in the future."}]
    assert membership_of(tenant, viewer).role.key == "viewer"


def test_patch_member_bad_input(api, tenant, viewer, make_tenant):
    membership = membership_of(tenant, viewer)
    other = make_tenant("Other", slug="other")
    foreign = problem(patch(api, f"/api/v1/members/{membership.pk}",
                            {"role_id": str(role_of(other, "admin").pk)}), 422)
    assert foreign["errors"][0]["message"] == "Choose a role of this organization."
    assert problem(patch(api, f"/api/v1/members/{membership.pk}", {"role_id": None}),
                   422)["errors"][0]["field"] == "role_id"
    extra = problem(patch(api, f"/api/v1/members/{membership.pk}", {"tenant": "x"}), 422)
    assert extra["errors"][0]["field"] == "tenant"
    problem(patch(api, f"/api/v1/members/{membership.pk}", {"expires_at": "soon"}), 422)


def test_last_owner_is_kept(api, tenant, owner):
    membership = membership_of(tenant, owner)
    body = problem(patch(api, f"/api/v1/members/{membership.pk}",
                         {"role_id": str(role_of(tenant, "admin").pk)}), 409)
    assert (body["code"], body["detail"]) == (
        "last_owner", "An organization must keep at least one active owner.")
    problem(api.delete(f"/api/v1/members/{membership.pk}"), 409)
    assert membership_of(tenant, owner).role.key == "owner"


def test_admin_cannot_grant_owner(tenant, make_user, viewer):
    admin = make_user("admin@example.com")
    add_member(tenant, admin, "admin")
    client = signed_in(admin, tenant)
    body = problem(patch(client, f"/api/v1/members/{membership_of(tenant, viewer).pk}",
                         {"role_id": str(role_of(tenant, "owner").pk)}), 403)
    assert body["detail"] == "Only owners can grant the owner role."


def test_disable_enable_remove(api, tenant, viewer):
    membership = membership_of(tenant, viewer)
    url = f"/api/v1/members/{membership.pk}"
    assert post(api, f"{url}/disable").json()["status"] == "disabled"
    assert post(api, f"{url}/enable").json()["status"] == "active"
    response = api.delete(url)
    assert (response.status_code, response.content) == (204, b"")
    with tenant_scope(tenant):
        assert not Membership.objects.filter(pk=membership.pk).exists()
    problem(api.get(url), 404)


def test_disabled_members_api_key_stops_working(tenant, owner, make_user):
    from django.test import Client

    admin = make_user("admin@example.com")
    add_member(tenant, admin, "admin")
    _key, secret = make_key(tenant, admin, ["members.view"])
    assert Client().get("/api/v1/members", headers=bearer(secret)).status_code == 200
    post(signed_in(owner, tenant), f"/api/v1/members/{membership_of(tenant, admin).pk}/disable")
    assert problem(Client().get("/api/v1/members", headers=bearer(secret)), 401)


def test_unknown_member_is_404(api):
    problem(api.get("/api/v1/members/01234567-89ab-cdef-0123-456789abcdef"), 404)
    problem(api.get("/api/v1/members/not-a-uuid"), 422)


# --- invitations -----------------------------------------------------------------------------


def test_invitation_create_list_revoke(api, tenant, django_capture_on_commit_callbacks):
    agent = role_of(tenant, "agent")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, "/api/v1/invitations",
                        {"email": "Pat@Example.com", "role_id": str(agent.pk)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["status"], body["role"]["key"]) == (
        "pat@example.com", "pending", "agent")
    assert "token" not in response.content.decode()
    assert len(mail.outbox) == 1
    listed = api.get("/api/v1/invitations").json()["items"]
    assert [i["id"] for i in listed] == [body["id"]]
    revoked = post(api, f"/api/v1/invitations/{body['id']}/revoke")
    assert revoked.json()["status"] == "revoked"
    assert api.get("/api/v1/invitations").json()["items"] == []
    assert [i["status"] for i in api.get("/api/v1/invitations?status=all").json()["items"]] == [
        "revoked"]
    assert problem(post(api, f"/api/v1/invitations/{body['id']}/revoke"), 409)["code"] == (
        "conflict")


def test_invitation_bad_input(api, tenant):
    agent = role_of(tenant, "agent")
    body = problem(post(api, "/api/v1/invitations", {"email": "nope", "role_id": str(agent.pk)}),
                   422)
    assert body["errors"] == [{"field": "email", "loc": ["email"],
                               "message": "Enter a valid email address."}]
    missing = problem(post(api, "/api/v1/invitations", {"email": "a@example.com"}), 422)
    assert missing["errors"][0]["field"] == "role_id"
    problem(api.get("/api/v1/invitations?status=weird"), 422)
    with tenant_scope(tenant):
        assert Invitation.objects.count() == 0


def test_invitations_list_statuses(api, tenant, owner):
    with tenant_scope(tenant):
        now = timezone.now()
        role = role_of(tenant, "agent")
        for i, fields in enumerate([
            {"expires_at": now + timedelta(days=1)},
            {"expires_at": now - timedelta(days=1)},
            {"expires_at": now + timedelta(days=1), "accepted_at": now},
        ]):
            Invitation.objects.create(tenant=tenant, email=f"i{i}@example.com", role=role,
                                      token_hash=f"h{i}", **fields)

    def emails(status):
        items = api.get(f"/api/v1/invitations?status={status}").json()["items"]
        return sorted(i["email"] for i in items)

    assert emails("pending") == ["i0@example.com"]
    assert emails("expired") == ["i1@example.com"]
    assert emails("accepted") == ["i2@example.com"]
    assert emails("all") == ["i0@example.com", "i1@example.com", "i2@example.com"]


# --- roles -----------------------------------------------------------------------------------


def test_roles_crud(api, tenant, django_assert_max_num_queries):
    response = post(api, "/api/v1/roles", {"key": "lead", "name": "Lead",
                                           "permissions": ["tags.view", "members.view"]})
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["key"], created["is_builtin"], created["permissions"],
            created["member_count"]) == ("lead", False, ["members.view", "tags.view"], 0)
    with django_assert_max_num_queries(20) as few:
        api.get("/api/v1/roles?limit=50")
    with tenant_scope(tenant):
        Role.objects.create(tenant=tenant, key="extra", name="Extra")
    with django_assert_max_num_queries(len(few.captured_queries)):
        listed = api.get("/api/v1/roles?limit=50").json()["items"]
    with tenant_scope(tenant):
        Role.objects.filter(tenant=tenant, key="extra").delete()
    assert [r["key"] for r in listed] == [
        "owner", "admin", "manager", "agent", "affiliate", "viewer", "lead", "extra"]
    custom = api.get("/api/v1/roles?builtin=false").json()["items"]
    assert [r["key"] for r in custom] == ["lead"]
    updated = patch(api, f"/api/v1/roles/{created['id']}", {"description": "Leads"}).json()
    assert (updated["name"], updated["description"], updated["permissions"]) == (
        "Lead", "Leads", ["members.view", "tags.view"])
    deleted = api.delete(f"/api/v1/roles/{created['id']}")
    assert deleted.status_code == 204
    problem(api.get(f"/api/v1/roles/{created['id']}"), 404)


def test_roles_errors(api, tenant, make_user):
    body = problem(post(api, "/api/v1/roles", {"key": "viewer", "name": "",
                                               "permissions": ["x.y"]}), 422)
    assert sorted(e["field"] for e in body["errors"]) == ["key", "name", "permissions"]
    admin_role = role_of(tenant, "admin")
    builtin = problem(patch(api, f"/api/v1/roles/{admin_role.pk}", {"name": "Boss"}), 403)
    assert builtin["detail"] == "Built-in roles cannot be changed."
    problem(api.delete(f"/api/v1/roles/{admin_role.pk}"), 403)
    lead = post(api, "/api/v1/roles", {"key": "lead", "name": "Lead"}).json()
    add_member(tenant, make_user(), "lead")
    assert problem(api.delete(f"/api/v1/roles/{lead['id']}"), 409)["code"] == "conflict"
    with tenant_scope(tenant):
        assert Role.objects.filter(key="lead").exists()


def test_role_changes_are_audited_without_personal_data(api, tenant):
    post(api, "/api/v1/roles", {"key": "lead", "name": "Lead", "permissions": ["tags.view"]})
    with tenant_scope(tenant):
        entry = AuditLog.objects.filter(tenant=tenant).order_by("-seq").first()
    assert (entry.action, entry.actor_type, entry.changes) == (
        "role.created", "user", {"key": "lead", "permissions": ["tags.view"]})


def test_permissions_registry(api):
    areas = api.get("/api/v1/permissions").json()
    members = next(a for a in areas if a["key"] == "members")
    assert members == {"key": "members", "label": "Members and invitations", "module": "core",
                       "actions": ["view", "add", "change", "delete"],
                       "permissions": ["members.view", "members.add", "members.change",
                                       "members.delete"]}
