"""API keys: services, the /api-keys endpoints and the settings page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import ApiKey, AuditLog
from tend.core.selectors.access import actor_for_membership
from tend.core.services.apikeys import apikey_create, apikey_hash, apikey_revoke
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, bearer, make_key, membership_of, signed_in


@pytest.fixture
def owner_actor(tenant, owner):
    return actor_for_membership(membership_of(tenant, owner))


@pytest.fixture
def viewer(tenant, make_user):
    user = make_user("viewer@example.com", full_name="Vera Viewer")
    add_member(tenant, user, "viewer")
    return user


# --- services ---------------------------------------------------------------------------------


def test_create_stores_only_a_hash_and_returns_the_secret_once(tenant, owner, owner_actor):
    with tenant_scope(tenant):
        api_key, secret = apikey_create(tenant=tenant, actor=owner_actor, name=" Website ",
                                        permissions=["tags.view", "members.view", "tags.view"])
        stored = ApiKey.objects.get(pk=api_key.pk)
        columns = ApiKey.objects.filter(pk=api_key.pk).values().get()
        entry = AuditLog.objects.filter(action="apikey.created").get()

    prefix, raw = secret.split("_", 2)[1:]
    assert secret.startswith(f"tend_{stored.prefix}_")
    assert (prefix, len(prefix)) == (stored.prefix, 12)
    assert stored.key_hash == apikey_hash(raw)
    assert [name for name, value in columns.items() if raw in str(value)] == []
    assert (stored.name, stored.permissions, stored.created_by) == (
        "Website", ["members.view", "tags.view"], owner)
    assert entry.entity_id == str(api_key.pk)
    assert entry.changes == {"name": "Website", "prefix": stored.prefix,
                             "permissions": ["members.view", "tags.view"], "expires_at": None}
    assert raw not in str(entry.changes)


def test_create_refuses_permissions_beyond_the_creators(tenant, make_user):
    manager = make_user("manager@example.com")
    add_member(tenant, manager, "manager")
    membership = membership_of(tenant, manager)
    # A manager lacks apikeys.manage by default; give the actor just enough to try.
    actor = Actor(kind="user", user=manager, membership=membership,
                  permissions=frozenset({"apikeys.manage", "tags.view"}))
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as caught:
        apikey_create(tenant=tenant, actor=actor, name="k",
                      permissions=["tags.view", "roles.delete"])
    assert caught.value.fields == {
        "permissions": ["You do not have this permission yourself: roles.delete"]}


@pytest.mark.parametrize(("kwargs", "fields"), [
    ({"name": "", "permissions": ["tags.view"]}, {"name": ["This field is required."]}),
    ({"name": "x" * 101, "permissions": ["tags.view"]},
     {"name": ["Use at most 100 characters."]}),
    ({"name": "k", "permissions": []}, {"permissions": ["Choose at least one permission."]}),
    ({"name": "k", "permissions": ["nope.view"]},
     {"permissions": ["Unknown permission: nope.view"]}),
    ({"name": "k", "permissions": ["tags.view"],
      "expires_at": timezone.now() - timedelta(minutes=1)},
     {"expires_at": ["Choose a time in the future."]}),
])
def test_create_validates_its_input(tenant, owner_actor, kwargs, fields):
    with tenant_scope(tenant), pytest.raises(ValidationFailed) as caught:
        apikey_create(tenant=tenant, actor=owner_actor, **kwargs)
    assert caught.value.fields == fields


def test_create_needs_apikeys_manage_and_a_member(tenant, viewer):
    viewer_actor = actor_for_membership(membership_of(tenant, viewer))
    with tenant_scope(tenant):
        with pytest.raises(PermissionDenied):
            apikey_create(tenant=tenant, actor=viewer_actor, name="k", permissions=["tags.view"])
        with pytest.raises(PermissionDenied) as caught:
            apikey_create(tenant=tenant, actor=Actor.system(), name="k",
                          permissions=["tags.view"])
    assert caught.value.message == "API keys are created by a member of the organization."


def test_revoke_is_audited_once(tenant, owner, owner_actor):
    api_key, _ = make_key(tenant, owner, ["tags.view"])
    with tenant_scope(tenant):
        apikey_revoke(tenant=tenant, actor=owner_actor, api_key=api_key)
        first = ApiKey.objects.get(pk=api_key.pk).revoked_at
        apikey_revoke(tenant=tenant, actor=owner_actor, api_key=api_key)
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at == first
        assert AuditLog.objects.filter(action="apikey.revoked").count() == 1
    assert first is not None


# --- API ----------------------------------------------------------------------------------------


def test_api_create_returns_the_secret_once_and_it_works(client, tenant, owner):
    session = signed_in(owner, tenant)
    response = session.post("/api/v1/api-keys", {"name": "CI", "permissions": ["tags.view"],
                                                 "expires_at": None},
                            content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "active"
    assert created["permissions"] == ["tags.view"]
    assert created["created_by_email"] == "owner@example.com"
    secret = created["secret"]

    me = client.get("/api/v1/me", headers=bearer(secret)).json()
    assert me["permissions"] == ["tags.view"]
    shown = session.get(f"/api/v1/api-keys/{created['id']}").json()
    assert "secret" not in shown
    assert secret.split("_", 2)[2] not in session.get("/api/v1/api-keys").content.decode()


def test_api_create_refuses_an_idempotency_key(tenant, owner):
    response = signed_in(owner, tenant).post(
        "/api/v1/api-keys", {"name": "CI", "permissions": ["tags.view"]},
        content_type="application/json", headers={"Idempotency-Key": "abc"})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "Idempotency-Key", "loc": ["Idempotency-Key"],
                                          "message": "Not supported by this endpoint."}]
    with tenant_scope(tenant):
        assert ApiKey.objects.count() == 0


def test_api_create_field_errors(tenant, owner):
    response = signed_in(owner, tenant).post(
        "/api/v1/api-keys", {"name": "CI", "permissions": ["nope.view"]},
        content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "permissions", "loc": ["permissions"],
                                          "message": "Unknown permission: nope.view"}]


def test_api_needs_permissions(tenant, viewer, owner):
    api_key, _ = make_key(tenant, owner, ["tags.view"])
    client = signed_in(viewer, tenant)
    assert client.get("/api/v1/api-keys").status_code == 403
    assert client.post("/api/v1/api-keys", {"name": "x", "permissions": ["tags.view"]},
                       content_type="application/json").status_code == 403
    assert client.post(f"/api/v1/api-keys/{api_key.pk}/revoke").status_code == 403


def test_api_revoke_stops_the_key_at_once(client, tenant, owner):
    api_key, secret = make_key(tenant, owner, ["tags.view"])
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200

    response = signed_in(owner, tenant).post(f"/api/v1/api-keys/{api_key.pk}/revoke")

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 401


def test_api_unknown_key_is_404(tenant, owner):
    client = signed_in(owner, tenant)
    missing = "01900000-0000-7000-8000-000000000000"
    assert client.get(f"/api/v1/api-keys/{missing}").status_code == 404
    assert client.post(f"/api/v1/api-keys/{missing}/revoke").status_code == 404
    assert client.get("/api/v1/api-keys/not-a-uuid").status_code == 422


def test_api_list_filters_by_status_and_name(tenant, owner):
    make_key(tenant, owner, ["tags.view"], name="Active one")
    revoked, _ = make_key(tenant, owner, ["tags.view"], name="Revoked one")
    expired, _ = make_key(tenant, owner, ["tags.view"], name="Expired one")
    with tenant_scope(tenant):
        ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
        ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    client = signed_in(owner, tenant)

    def names(query):
        response = client.get(f"/api/v1/api-keys?{query}")
        assert response.status_code == 200, response.content
        return [item["name"] for item in response.json()["items"]]

    assert names("") == ["Expired one", "Revoked one", "Active one"]
    assert names("status=active") == ["Active one"]
    assert names("status=revoked") == ["Revoked one"]
    assert names("status=expired") == ["Expired one"]
    assert names("q=EXPIRED") == ["Expired one"]
    bad = client.get("/api/v1/api-keys?status=lost")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status"


# --- settings page ------------------------------------------------------------------------------


def test_page_lists_keys_and_hides_actions_from_viewers(tenant, owner, viewer, make_user):
    make_key(tenant, owner, ["tags.view"], name="Website form")
    page = signed_in(owner, tenant).get("/o/acme/settings/api-keys/")
    assert page.status_code == 200
    assert "Website form" in page.content.decode()
    assert 'id="apikey-add"' in page.content.decode()
    # Viewers hold no apikeys.view: the page is refused.
    assert signed_in(viewer, tenant).get("/o/acme/settings/api-keys/").status_code == 403


def test_page_creates_a_key_and_shows_the_secret_once(client, tenant, owner):
    session = signed_in(owner, tenant)
    form = session.get("/o/acme/settings/api-keys/new/")
    assert form.status_code == 200
    assert 'value="members.view"' in form.content.decode()

    response = session.post("/o/acme/settings/api-keys/new/", {
        "name": "Zapier", "permissions": ["members.view", "tags.view"], "expires_on": "",
    })

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    with tenant_scope(tenant):
        api_key = ApiKey.objects.get(name="Zapier")
    start = html.index('id="apikey-secret" dir="ltr">') + len('id="apikey-secret" dir="ltr">')
    secret = html[start:html.index("</code>", start)]
    assert secret.startswith(f"tend_{api_key.prefix}_")
    assert client.get("/api/v1/me", headers=bearer(secret)).json()["permissions"] == [
        "members.view", "tags.view"]
    listing = session.get("/o/acme/settings/api-keys/").content.decode()
    assert secret not in listing
    assert f"tend_{api_key.prefix}_…" in listing


def test_page_expiry_is_the_end_of_the_day_in_the_org_time_zone(tenant, owner):
    tomorrow = timezone.localdate() + timedelta(days=1)
    signed_in(owner, tenant).post("/o/acme/settings/api-keys/new/", {
        "name": "Short", "permissions": ["tags.view"], "expires_on": tomorrow.isoformat(),
    })
    with tenant_scope(tenant):
        api_key = ApiKey.objects.get(name="Short")
    # The tenant's time zone is UTC: the end of tomorrow is midnight after it.
    assert api_key.expires_at.isoformat() == f"{tomorrow + timedelta(days=1)}T00:00:00+00:00"


def test_page_shows_field_errors(tenant, owner):
    response = signed_in(owner, tenant).post("/o/acme/settings/api-keys/new/", {
        "name": "", "permissions": [],
    })
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert "Choose at least one permission." not in html  # the form stops at the name first
    response = signed_in(owner, tenant).post("/o/acme/settings/api-keys/new/", {
        "name": "k", "permissions": [],
    })
    assert "Choose at least one permission." in response.content.decode()


def test_page_revokes_with_htmx(tenant, owner):
    api_key, _ = make_key(tenant, owner, ["tags.view"], name="Old")
    response = signed_in(owner, tenant).post(
        f"/o/acme/settings/api-keys/{api_key.pk}/revoke/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'data-status="revoked"' in response.content.decode()
    with tenant_scope(tenant):
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at is not None


def test_page_revoke_of_another_organizations_key_is_404(make_tenant, make_user, tenant, owner):
    stranger = make_user("stranger@example.com")
    other = make_tenant("Other", slug="other", owner=stranger)
    foreign, _ = make_key(other, stranger, ["tags.view"])
    response = signed_in(owner, tenant).post(f"/o/acme/settings/api-keys/{foreign.pk}/revoke/")
    assert response.status_code == 404
    with tenant_scope(other):
        assert ApiKey.objects.get(pk=foreign.pk).revoked_at is None
