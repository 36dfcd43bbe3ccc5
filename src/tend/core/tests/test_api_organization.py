"""GET/PATCH /organization and GET /me."""

import pytest

from tend.core.models import AuditLog, Tenant
from tend.core.permissions import builtin_role_permissions
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, bearer, make_key, signed_in

ORG = "/api/v1/organization"


@pytest.fixture
def session(tenant, owner):
    return signed_in(owner, tenant)


def _patch(client, body):
    return client.patch(ORG, body, content_type="application/json")


def test_get_shows_the_profile(session, tenant):
    body = session.get(ORG).json()
    assert body == {
        "id": str(tenant.pk), "slug": "acme", "name": "Acme Club", "plan": "free",
        "time_zone": "UTC", "default_language": "en", "locale": "en-US", "region": "US",
        "enabled_modules": [], "created_at": body["created_at"],
    }


def test_patch_changes_only_the_fields_sent_and_audits(session, tenant):
    response = _patch(session, {"name": "Acme Golf", "time_zone": "Asia/Dubai",
                                "default_language": "ar", "region": "ae", "locale": "ar-AE"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["time_zone"], body["default_language"], body["region"],
            body["locale"], body["slug"]) == (
        "Acme Golf", "Asia/Dubai", "ar", "AE", "ar-AE", "acme")
    stored = Tenant.objects.get(pk=tenant.pk)
    assert (stored.name, stored.region, stored.locale) == ("Acme Golf", "AE", "ar-AE")
    with tenant_scope(tenant):
        entry = AuditLog.objects.get(action="organization.updated")
    assert entry.changes == {
        "name": {"before": "Acme Club", "after": "Acme Golf"},
        "time_zone": {"before": "UTC", "after": "Asia/Dubai"},
        "default_language": {"before": "en", "after": "ar"},
        "region": {"before": "US", "after": "AE"},
        "locale": {"before": "en-US", "after": "ar-AE"},
    }


def test_patch_with_nothing_new_changes_nothing(session, tenant):
    assert _patch(session, {}).status_code == 200
    assert _patch(session, {"name": "Acme Club", "locale": None}).status_code == 200
    with tenant_scope(tenant):
        assert not AuditLog.objects.filter(action="organization.updated").exists()


def test_patch_reports_every_bad_field(session, tenant):
    response = _patch(session, {"name": " ", "time_zone": "Mars/Olympus",
                                "default_language": "xx", "region": "ZZ", "locale": "en_US!"})

    assert response.status_code == 422
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert errors == {
        "name": "This field is required.",
        "time_zone": "Choose a time zone from the list.",
        "default_language": "Choose one of the offered languages.",
        "region": "Enter a two-letter country code, such as US or AE.",
        "locale": "Enter a locale such as en-US or ar-AE.",
    }
    assert Tenant.objects.get(pk=tenant.pk).name == "Acme Club"


@pytest.mark.parametrize("field", ["slug", "plan", "is_active", "tenant", "enabled_modules"])
def test_patch_refuses_fields_outside_the_allowlist(session, tenant, field):
    response = _patch(session, {field: "x"})
    assert response.status_code == 422
    assert [(e["field"], e["type"]) for e in response.json()["errors"]] == [
        (field, "extra_forbidden")]
    assert Tenant.objects.get(pk=tenant.pk).slug == "acme"


def test_patch_name_too_long_is_422(session):
    response = _patch(session, {"name": "x" * 201})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "name"


def test_viewers_read_but_do_not_change(tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    assert client.get(ORG).status_code == 200
    assert _patch(client, {"name": "Mine"}).status_code == 403


def test_agents_do_not_see_the_profile(tenant, make_user):
    agent = make_user("agent@example.com")
    add_member(tenant, agent, "agent")
    assert signed_in(agent, tenant).get(ORG).status_code == 403


def test_a_key_needs_organization_change_to_patch(client, tenant, owner):
    _, reader = make_key(tenant, owner, ["organization.view"])
    _, writer = make_key(tenant, owner, ["organization.change"])
    refused = client.patch(ORG, {"name": "K"}, content_type="application/json",
                           headers=bearer(reader))
    accepted = client.patch(ORG, {"name": "K"}, content_type="application/json",
                            headers=bearer(writer))
    assert (refused.status_code, accepted.status_code) == (403, 200)
    with tenant_scope(tenant):
        entry = AuditLog.objects.get(action="organization.updated")
    assert (entry.actor_type, entry.actor_label) == ("api_key", "API key test key")


def test_me_for_a_viewer_session(tenant, make_user):
    viewer = make_user("viewer@example.com", full_name="Vera Viewer")
    add_member(tenant, viewer, "viewer")
    body = signed_in(viewer, tenant).get("/api/v1/me").json()
    assert body["kind"] == "user"
    assert body["user"]["email"] == "viewer@example.com"
    assert body["user"]["full_name"] == "Vera Viewer"
    assert body["role"]["key"] == "viewer"
    assert body["membership_expires_at"] is None
    assert body["permissions"] == sorted(builtin_role_permissions("viewer"))
