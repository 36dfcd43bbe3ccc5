"""Pages: dashboard, organization settings, members and invitations, roles, invite links."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from tend.core.models import Invitation, Membership, Role
from tend.core.services.invitations import invitation_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import actor_of, add_member, membership_of, role_of

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def owner_client(client, tenant, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def viewer(make_user, tenant):
    user = make_user("viewer@example.com", full_name="Vic Viewer")
    add_member(tenant, user, "viewer")
    return user


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


def invite(tenant, user, email="new@example.com", role_key="agent"):
    with tenant_scope(tenant):
        return invitation_create(tenant=tenant, actor=actor_of(tenant, user), email=email,
                                 role=role_of(tenant, role_key))


# --- dashboard -------------------------------------------------------------------------------


def test_dashboard_shows_real_counts(owner_client, tenant, owner, viewer, make_user):
    invite(tenant, owner)
    add_member(tenant, make_user(), "agent", is_active=False)
    html = owner_client.get("/o/acme/").content.decode()

    def count(element_id):
        start = html.index(f'id="{element_id}"')
        value = html.index('class="stat-value">', start) + len('class="stat-value">')
        return html[value:html.index("<", value)]

    assert count("count-members") == "2"
    assert count("count-invitations") == "1"
    assert count("count-roles") == "6"
    assert count("count-apikeys") == "0"
    assert count("count-audit") == "2"  # organization.created + invitation.created
    assert count("count-jobs") == "0"
    assert 'id="getting-started"' in html
    assert 'id="step-invite" class="done"' in html


def test_dashboard_for_viewer_hides_admin_steps(viewer_client):
    response = viewer_client.get("/o/acme/")
    assert response.status_code == 200
    assert b'id="getting-started"' not in response.content


def test_non_member_gets_404(client, make_user, tenant):
    client.force_login(make_user("stranger@example.com"))
    assert client.get("/o/acme/").status_code == 404
    assert client.get("/o/acme/settings/members/").status_code == 404


def test_disabled_member_loses_access_at_once(client, tenant, owner, viewer):
    client.force_login(viewer)
    assert client.get("/o/acme/").status_code == 200
    with tenant_scope(tenant):
        Membership.objects.filter(tenant=tenant, user=viewer).update(is_active=False)
    assert client.get("/o/acme/").status_code == 404


# --- permissions on every page ---------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("get", "/o/acme/settings/members/"),
    ("post", "/o/acme/settings/members/invite/"),
    ("get", "/o/acme/settings/roles/"),
    ("get", "/o/acme/settings/roles/new/"),
    ("post", "/o/acme/settings/organization/"),
])
def test_viewer_is_denied(viewer_client, method, path):
    response = getattr(viewer_client, method)(path)
    assert response.status_code == 403
    assert b'id="error-403"' in response.content


def test_viewer_cannot_act_on_rows(viewer_client, tenant, owner):
    membership = membership_of(tenant, owner)
    for action in ("role", "expiry", "disable", "enable", "remove"):
        url = f"/o/acme/settings/members/{membership.pk}/{action}/"
        assert viewer_client.post(url, {"role": "x"}).status_code == 403
    assert membership_of(tenant, owner).is_active is True


# --- organization settings -------------------------------------------------------------------


def test_organization_settings_save(owner_client, tenant):
    page = owner_client.get("/o/acme/settings/organization/")
    assert page.status_code == 200
    assert b'id="organization-form"' in page.content
    response = owner_client.post("/o/acme/settings/organization/", {
        "name": "Acme Golf", "time_zone": "Asia/Dubai", "default_language": "ar",
        "region": "ae",
    })
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.name, tenant.time_zone, tenant.default_language, tenant.region) == (
        "Acme Golf", "Asia/Dubai", "ar", "AE")


def test_organization_settings_switch_modules(owner_client, tenant, monkeypatch):
    from tend.core import modules

    monkeypatch.setitem(modules._modules, "golf", modules.Module(key="golf", label="Golf"))
    page = owner_client.get("/o/acme/settings/organization/").content.decode()
    assert 'name="enabled_modules" value="golf"' in page
    response = owner_client.post("/o/acme/settings/organization/", {
        "name": "Acme", "time_zone": "UTC", "default_language": "en", "region": "US",
        "enabled_modules": ["golf"],
    })
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.enabled_modules == ["golf"]
    owner_client.post("/o/acme/settings/organization/", {
        "name": "Acme", "time_zone": "UTC", "default_language": "en", "region": "US"})
    tenant.refresh_from_db()
    assert tenant.enabled_modules == []


def test_organization_settings_errors_next_to_fields(owner_client, tenant):
    response = owner_client.post("/o/acme/settings/organization/", {
        "name": "", "time_zone": "Asia/Dubai", "default_language": "ar", "region": "US",
    })
    assert response.status_code == 422
    assert 'id="id_name_error"' in response.content.decode()
    response = owner_client.post("/o/acme/settings/organization/", {
        "name": "Acme", "time_zone": "Asia/Dubai", "default_language": "ar", "region": "ZZ",
    })
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_region_error"' in html
    assert 'aria-describedby="id_region_helptext id_region_error"' in html
    assert "Enter a two-letter country code, such as US or AE." in html
    tenant.refresh_from_db()
    assert tenant.name == "Acme Club"


def test_organization_settings_read_only_for_viewer(viewer_client):
    response = viewer_client.get("/o/acme/settings/organization/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="organization-read-only"' in html
    assert 'id="organization-submit"' not in html
    assert 'name="name" value="Acme Club" maxlength="200" required disabled' in html


# --- members ---------------------------------------------------------------------------------


def test_members_page_lists_members_and_invitations(owner_client, tenant, owner, viewer):
    invitation, _token = invite(tenant, owner)
    html = owner_client.get("/o/acme/settings/members/").content.decode()
    assert f'id="member-{membership_of(tenant, owner).pk}"' in html
    assert f'id="member-{membership_of(tenant, viewer).pk}"' in html
    assert f'id="invitation-{invitation.pk}"' in html
    assert 'id="invite-form"' in html
    form = html[html.index('id="invite-form"'):]
    assert f'<option value="{role_of(tenant, "viewer").pk}" selected>' in form


def test_members_page_query_count_does_not_grow(owner_client, tenant, make_user,
                                               django_assert_max_num_queries):
    for _ in range(3):
        add_member(tenant, make_user(), "agent")
    # An absolute ceiling (PostgreSQL with RLS adds a few scope statements), and no growth.
    with django_assert_max_num_queries(20) as few:
        owner_client.get("/o/acme/settings/members/")
    for _ in range(10):
        add_member(tenant, make_user(), "agent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get("/o/acme/settings/members/")
    assert response.content.decode().count('data-status="active"') == 14


def test_members_filter(owner_client, tenant, viewer, make_user):
    add_member(tenant, make_user("gone@example.com"), "agent", is_active=False)
    html = owner_client.get("/o/acme/settings/members/?status=disabled").content.decode()
    assert 'data-email="gone@example.com"' in html
    assert 'data-email="viewer@example.com"' not in html
    html = owner_client.get("/o/acme/settings/members/?q=vic").content.decode()
    assert 'data-email="viewer@example.com"' in html
    assert 'data-email="owner@example.com"' not in html


def test_invite_from_the_page(owner_client, tenant, django_capture_on_commit_callbacks):
    agent = role_of(tenant, "agent")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post("/o/acme/settings/members/invite/",
                                     {"email": "pat@example.com", "role": str(agent.pk)})
    assert response.status_code == 302
    assert mail.outbox[0].to == ["pat@example.com"]
    with tenant_scope(tenant):
        assert Invitation.objects.get(tenant=tenant).email == "pat@example.com"


def test_invite_errors_are_shown(owner_client, tenant):
    agent = role_of(tenant, "agent")
    response = owner_client.post("/o/acme/settings/members/invite/",
                                 {"email": "owner@example.com", "role": str(agent.pk)})
    assert response.status_code == 422
    assert "This person is already a member." in response.content.decode()
    response = owner_client.post("/o/acme/settings/members/invite/",
                                 {"email": "x@example.com", "role": "not-a-role"})
    assert response.status_code == 422
    assert 'id="id_role_error"' in response.content.decode()


def test_admin_cannot_pick_owner_role_in_invite_form(client, tenant, make_user):
    admin = make_user("admin@example.com")
    add_member(tenant, admin, "admin")
    client.force_login(admin)
    html = client.get("/o/acme/settings/members/").content.decode()
    form = html[html.index('id="invite-form"'):]
    assert f'value="{role_of(tenant, "owner").pk}"' not in form
    response = client.post("/o/acme/settings/members/invite/", {
        "email": "x@example.com", "role": str(role_of(tenant, "owner").pk)})
    assert response.status_code == 422


def test_change_role_with_htmx_returns_the_row(owner_client, tenant, viewer):
    membership = membership_of(tenant, viewer)
    agent = role_of(tenant, "agent")
    response = owner_client.post(f"/o/acme/settings/members/{membership.pk}/role/",
                                 {"role": str(agent.pk)}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="member-{membership.pk}"')
    assert f'<option value="{agent.pk}" selected>' in html
    assert membership_of(tenant, viewer).role.key == "agent"


def test_last_owner_error_shows_in_the_row(owner_client, tenant, owner):
    membership = membership_of(tenant, owner)
    response = owner_client.post(f"/o/acme/settings/members/{membership.pk}/role/",
                                 {"role": str(role_of(tenant, "admin").pk)}, **HTMX)
    assert response.status_code == 409
    assert "An organization must keep at least one active owner." in response.content.decode()
    assert membership_of(tenant, owner).role.key == "owner"
    plain = owner_client.post(f"/o/acme/settings/members/{membership.pk}/role/",
                              {"role": str(role_of(tenant, "admin").pk)})
    assert plain.status_code == 409
    assert "An organization must keep at least one active owner." in plain.content.decode()


def test_bad_role_id_is_a_422(owner_client, tenant, viewer):
    membership = membership_of(tenant, viewer)
    response = owner_client.post(f"/o/acme/settings/members/{membership.pk}/role/",
                                 {"role": "garbage"}, **HTMX)
    assert response.status_code == 422
    assert "Choose a role of this organization." in response.content.decode()


def test_set_expiry_in_organization_time_zone(owner_client, tenant, viewer):
    tenant.time_zone = "Asia/Dubai"
    tenant.save()
    membership = membership_of(tenant, viewer)
    year = timezone.now().year + 1
    response = owner_client.post(f"/o/acme/settings/members/{membership.pk}/expiry/",
                                 {"expires_at": f"{year}-06-01T12:00"}, **HTMX)
    assert response.status_code == 200
    expires = membership_of(tenant, viewer).expires_at
    assert expires.astimezone(UTC).isoformat() == f"{year}-06-01T08:00:00+00:00"
    assert f'value="{year}-06-01T12:00"' in response.content.decode()
    bad = owner_client.post(f"/o/acme/settings/members/{membership.pk}/expiry/",
                            {"expires_at": "soon"}, **HTMX)
    assert bad.status_code == 422
    assert "Enter a date and time." in bad.content.decode()
    cleared = owner_client.post(f"/o/acme/settings/members/{membership.pk}/expiry/",
                                {"expires_at": ""})
    assert cleared.status_code == 302
    assert membership_of(tenant, viewer).expires_at is None


def test_disable_enable_remove(owner_client, tenant, viewer):
    membership = membership_of(tenant, viewer)
    base = f"/o/acme/settings/members/{membership.pk}"
    disabled = owner_client.post(f"{base}/disable/", **HTMX)
    assert disabled.status_code == 200
    assert 'data-status="disabled"' in disabled.content.decode()
    assert membership_of(tenant, viewer).is_active is False
    enabled = owner_client.post(f"{base}/enable/")
    assert enabled.status_code == 302
    assert membership_of(tenant, viewer).is_active is True
    removed = owner_client.post(f"{base}/remove/", **HTMX)
    assert (removed.status_code, removed.content) == (200, b"")
    with tenant_scope(tenant):
        assert not Membership.objects.filter(pk=membership.pk).exists()


def test_row_actions_need_post_and_a_real_member(owner_client, tenant, make_tenant, make_user):
    outsider = make_user("out@example.com")
    other = make_tenant("Other", slug="other", owner=outsider)
    foreign = membership_of(other, outsider)
    assert owner_client.post(f"/o/acme/settings/members/{foreign.pk}/disable/").status_code == 404
    assert membership_of(other, outsider).is_active is True
    assert owner_client.get(f"/o/acme/settings/members/{foreign.pk}/disable/").status_code == 405


def test_revoke_invitation(owner_client, tenant, owner):
    invitation, _token = invite(tenant, owner)
    response = owner_client.post(f"/o/acme/settings/invitations/{invitation.pk}/revoke/", **HTMX)
    assert (response.status_code, response.content) == (200, b"")
    again = owner_client.post(f"/o/acme/settings/invitations/{invitation.pk}/revoke/")
    assert again.status_code == 409


# --- roles -----------------------------------------------------------------------------------


def test_roles_list_and_matrix(owner_client, tenant):
    html = owner_client.get("/o/acme/settings/roles/").content.decode()
    assert 'id="role-owner"' in html and 'id="role-viewer"' in html
    admin = role_of(tenant, "admin")
    detail = owner_client.get(f"/o/acme/settings/roles/{admin.pk}/").content.decode()
    assert 'id="permission-matrix"' in detail
    assert 'id="perm-members.view"' in detail
    assert 'id="role-submit"' not in detail  # built-in: read-only


def test_roles_list_query_count(owner_client, tenant, owner, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        owner_client.get("/o/acme/settings/roles/")
    with tenant_scope(tenant):
        for i in range(5):
            Role.objects.create(tenant=tenant, key=f"r{i}", name=f"R{i}",
                                permissions=["tags.view"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get("/o/acme/settings/roles/")
    assert response.content.decode().count('<tr id="role-') == 11


def test_create_edit_delete_custom_role(owner_client, tenant):
    response = owner_client.post("/o/acme/settings/roles/new/", {
        "key": "team-lead", "name": "Team lead", "description": "",
        "permissions": ["members.view", "tags.view"],
    })
    assert response.status_code == 302
    role = role_of(tenant, "team-lead")
    assert response.url == f"/o/acme/settings/roles/{role.pk}/"
    assert role.permissions == ["members.view", "tags.view"]
    edit = owner_client.post(f"/o/acme/settings/roles/{role.pk}/", {
        "name": "Lead", "description": "Leads", "permissions": ["tags.view"]})
    assert edit.status_code == 302
    role = role_of(tenant, "team-lead")
    assert (role.name, role.description, role.permissions) == ("Lead", "Leads", ["tags.view"])
    deleted = owner_client.post(f"/o/acme/settings/roles/{role.pk}/delete/")
    assert deleted.status_code == 302
    with tenant_scope(tenant):
        assert not Role.objects.filter(tenant=tenant, key="team-lead").exists()


def test_role_form_errors(owner_client, tenant):
    response = owner_client.post("/o/acme/settings/roles/new/", {
        "key": "admin", "name": "", "permissions": ["nope.view"]})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert 'id="id_permissions_error"' in html


def test_builtin_role_cannot_be_posted(owner_client, tenant):
    admin = role_of(tenant, "admin")
    response = owner_client.post(f"/o/acme/settings/roles/{admin.pk}/",
                                 {"name": "Boss", "permissions": []})
    assert response.status_code == 403
    assert role_of(tenant, "admin").name == "Admin"


def test_role_in_use_delete_is_refused(owner_client, tenant, make_user):
    owner_client.post("/o/acme/settings/roles/new/", {"key": "lead", "name": "Lead",
                                                      "permissions": ["tags.view"]})
    add_member(tenant, make_user(), "lead")
    role = role_of(tenant, "lead")
    response = owner_client.post(f"/o/acme/settings/roles/{role.pk}/delete/")
    assert response.status_code == 409
    assert role_of(tenant, "lead").pk == role.pk


def test_unknown_role_is_404(owner_client, tenant, make_tenant):
    other = make_tenant("Other", slug="other")
    foreign = role_of(other, "admin")
    assert owner_client.get(f"/o/acme/settings/roles/{foreign.pk}/").status_code == 404


# --- invitation links ------------------------------------------------------------------------


def test_new_person_accepts_and_is_signed_in(client, tenant, owner):
    _invitation, token = invite(tenant, owner)
    page = client.get(f"/invite/{token}/")
    assert page.status_code == 200
    bad = client.post(f"/invite/{token}/", {"full_name": "Nora", "password": "short",
                                            "password_confirm": "short"})
    assert bad.status_code == 422
    assert 'id="id_password_error"' in bad.content.decode()
    response = client.post(f"/invite/{token}/", {
        "full_name": "Nora New", "password": "a long unusual passphrase",
        "password_confirm": "a long unusual passphrase"})
    assert response.status_code == 302
    assert response.url == "/o/acme/"
    assert client.get("/o/acme/").status_code == 200
    used = client.get(f"/invite/{token}/")
    assert used.status_code == 410
    assert b'data-reason="accepted"' in used.content


def test_existing_user_must_sign_in_then_joins(client, tenant, owner, make_user):
    person = make_user("new@example.com")
    _invitation, token = invite(tenant, owner)
    page = client.get(f"/invite/{token}/")
    assert b'id="invite-sign-in"' in page.content
    client.force_login(person)
    assert b'id="invite-join"' in client.get(f"/invite/{token}/").content
    response = client.post(f"/invite/{token}/")
    assert response.url == "/o/acme/"
    assert membership_of(tenant, person).role.key == "agent"


def test_wrong_account_is_refused(client, tenant, owner, make_user):
    _invitation, token = invite(tenant, owner)
    client.force_login(make_user("someone@example.com"))
    assert client.get(f"/invite/{token}/").status_code == 403
    response = client.post(f"/invite/{token}/")
    assert response.status_code == 403
    with tenant_scope(tenant):
        assert Invitation.objects.get(tenant=tenant).accepted_at is None


def test_unknown_and_expired_links(client, tenant, owner):
    assert client.get("/invite/nonsense/").status_code == 404
    invitation, token = invite(tenant, owner)
    with tenant_scope(tenant):
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(f"/invite/{token}/")
    assert response.status_code == 410
    assert b'data-reason="expired"' in response.content
