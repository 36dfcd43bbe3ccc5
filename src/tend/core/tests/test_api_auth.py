"""Authentication of /api/v1: API keys, sessions, CSRF, and the tenant the request runs in."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tend.core.models import ApiKey, Membership, Role, Tenant, User
from tend.core.tenancy import current_tenant, tenant_scope
from tend.core.tests.apitools import add_member, bearer, make_key, signed_in

ME = "/api/v1/me"


@pytest.fixture
def key(tenant, owner):
    return make_key(tenant, owner, ["members.view", "apikeys.view"])


def _problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return response.json()


def test_api_key_authenticates_into_its_tenant(client, tenant, key):
    api_key, secret = key

    response = client.get(ME, headers=bearer(secret))

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "api_key"
    assert body["organization"]["slug"] == "acme"
    assert body["api_key"] == {"id": str(api_key.pk), "name": "test key",
                               "prefix": api_key.prefix}
    assert body["user"]["email"] == "owner@example.com"
    assert body["permissions"] == ["apikeys.view", "members.view"]


@pytest.mark.parametrize("header", [
    "Bearer tend_nope_nope",
    "Bearer not-a-tend-key",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "tend_x_y",
])
def test_malformed_or_unknown_credentials_are_401(client, tenant, key, header):
    body = _problem(client.get(ME, headers={"Authorization": header}), 401)
    assert body["code"] == "not_authenticated"


def test_wrong_secret_for_a_real_prefix_is_401(client, key):
    api_key, _ = key
    response = client.get(ME, headers=bearer(f"tend_{api_key.prefix}_wrongsecret"))
    _problem(response, 401)


def test_anonymous_gets_401_with_www_authenticate(client, tenant):
    response = client.get(ME)
    body = _problem(response, 401)
    assert response["WWW-Authenticate"] == 'Bearer realm="tend"'
    assert body["instance"] == ME


def test_revoked_key_is_refused(client, tenant, key):
    api_key, secret = key
    with tenant_scope(tenant):
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_expired_key_is_refused(client, tenant, key):
    api_key, secret = key
    with tenant_scope(tenant):
        ApiKey.objects.filter(pk=api_key.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1))
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_key_of_disabled_user_is_refused(client, owner, key):
    _, secret = key
    User.objects.filter(pk=owner.pk).update(is_active=False)
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_key_of_disabled_membership_is_refused(client, tenant, owner, key):
    _, secret = key
    with tenant_scope(tenant):
        Membership.objects.filter(user=owner).update(is_active=False)
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_key_of_expired_membership_is_refused(client, tenant, owner, key):
    _, secret = key
    with tenant_scope(tenant):
        Membership.objects.filter(user=owner).update(
            expires_at=timezone.now() - timedelta(minutes=1))
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_key_of_removed_creator_is_refused(client, tenant, owner, key):
    _, secret = key
    with tenant_scope(tenant):
        Membership.objects.filter(user=owner).delete()
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_key_of_inactive_organization_is_refused(client, tenant, key):
    _, secret = key
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
    _problem(client.get(ME, headers=bearer(secret)), 401)


def test_key_permissions_shrink_with_its_creators_role(client, tenant, make_user):
    manager = make_user("manager@example.com")
    add_member(tenant, manager, "admin")
    _, secret = make_key(tenant, manager, ["members.view", "apikeys.manage", "tags.view"])
    with tenant_scope(tenant):
        Membership.objects.filter(user=manager).update(role=Role.objects.get(key="viewer"))

    body = client.get(ME, headers=bearer(secret)).json()

    # The viewer role keeps tags.view but has neither members.view nor apikeys.manage.
    assert body["permissions"] == ["tags.view"]
    assert body["role"]["key"] == "viewer"


def test_last_used_is_written_at_most_once_a_minute(client, tenant, key):
    api_key, secret = key
    client.get(ME, headers=bearer(secret))
    with tenant_scope(tenant):
        first = ApiKey.objects.get(pk=api_key.pk).last_used_at
        assert first is not None
        client.get(ME, headers=bearer(secret))
        assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - timedelta(minutes=2))
        client.get(ME, headers=bearer(secret))
        assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


def test_a_bad_bearer_does_not_fall_back_to_the_session(tenant, owner):
    client = signed_in(owner, tenant)
    _problem(client.get(ME, headers=bearer("tend_abc_def")), 401)


def test_session_uses_the_current_organization(tenant, owner):
    body = signed_in(owner, tenant).get(ME).json()
    assert (body["kind"], body["organization"]["slug"]) == ("user", "acme")
    assert body["api_key"] is None
    assert body["role"]["key"] == "owner"


def test_session_organization_header_wins(make_tenant, tenant, owner):
    make_tenant("Beta Club", slug="beta", owner=owner)
    client = signed_in(owner, tenant)
    body = client.get(ME, headers={"X-Organization": "beta"}).json()
    assert body["organization"]["slug"] == "beta"


def test_session_without_an_organization_is_422(tenant, owner):
    body = _problem(signed_in(owner).get(ME), 422)
    assert body["errors"] == [{"field": "X-Organization", "loc": ["X-Organization"],
                               "message": "This header is required."}]


def test_session_in_a_foreign_organization_is_403(make_tenant, tenant, owner, make_user):
    stranger = make_user("stranger@example.com")
    make_tenant("Beta Club", slug="beta", owner=stranger)
    client = signed_in(owner, tenant)
    for slug in ("beta", "no-such-org"):
        body = _problem(client.get(ME, headers={"X-Organization": slug}), 403)
        assert body["detail"] == "You are not a member of this organization."


def test_session_of_a_disabled_member_is_403(tenant, owner):
    client = signed_in(owner, tenant)
    with tenant_scope(tenant):
        Membership.objects.filter(user=owner).update(is_active=False)
    _problem(client.get(ME), 403)


def test_session_post_needs_csrf_token(tenant, owner, key):
    api_key, _ = key
    client = signed_in(owner, tenant, enforce_csrf_checks=True)
    url = f"/api/v1/api-keys/{api_key.pk}/revoke"

    refused = _problem(client.post(url), 403)
    assert refused["detail"] == "CSRF check failed. Send the X-CSRFToken header."
    with tenant_scope(tenant):
        assert ApiKey.objects.get(pk=api_key.pk).revoked_at is None

    client.cookies["csrftoken"] = "a" * 32
    accepted = client.post(url, headers={"X-CSRFToken": "a" * 32})
    assert accepted.status_code == 200, accepted.content


def test_api_key_post_needs_no_csrf_token(tenant, owner):
    api_key, _ = make_key(tenant, owner, ["apikeys.manage", "apikeys.view"], name="victim")
    _, secret = make_key(tenant, owner, ["apikeys.manage", "apikeys.view"])
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/api/v1/api-keys/{api_key.pk}/revoke", headers=bearer(secret))
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"


def test_the_endpoint_runs_in_the_tenant_scope_and_leaves_none_behind(client, tenant, key):
    _, secret = key
    response = client.get(f"/api/v1/api-keys/{key[0].pk}", headers=bearer(secret))
    assert response.status_code == 200  # the scoped ApiKey manager worked inside the endpoint
    assert current_tenant() is None


def test_an_idle_session_gets_401_not_a_login_redirect(tenant, owner):
    client = signed_in(owner, tenant)
    session = client.session
    session["tend_last_seen"] = 0  # long ago
    session.save()
    body = _problem(client.get(ME), 401)
    assert body["code"] == "not_authenticated"


def test_a_session_ended_by_a_password_change_gets_401(tenant, owner):
    client = signed_in(owner, tenant)
    assert client.get(ME).status_code == 200
    User.objects.filter(pk=owner.pk).update(session_epoch=owner.session_epoch + 1)
    _problem(client.get(ME), 401)


def test_a_key_sent_with_another_organizations_header_is_403(client, tenant, key):
    _, secret = key
    same = client.get(ME, headers={**bearer(secret), "X-Organization": "acme"})
    other = client.get(ME, headers={**bearer(secret), "X-Organization": "beta"})
    assert same.status_code == 200
    assert _problem(other, 403)["detail"] == "This API key belongs to another organization."
