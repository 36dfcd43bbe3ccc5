"""Connecting a social account by signing in at the platform (OAuth authorization code with
PKCE) against the local fake: the page sends the browser to the authorize URL with a signed
state, the callback exchanges the code, the token is stored encrypted and the connection is
healthy; a state works once, only for its own person, organization and platform; refusals
are a 400 with a message."""

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.core import signing

from tend.core.crypto import decrypt
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.marketing.models import SocialConnection
from tend.marketing.services.social_oauth import STATE_SALT
from tend.marketing.social.fakes import FakeSocial

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    with FakeSocial() as server:
        settings.TEND_SOCIAL_OAUTH = {
            p: {"client_id": server.oauth_clients[p][0],
                "client_secret": server.oauth_clients[p][1],
                "authorize_url": f"{server.url}/oauth/authorize",
                "token_url": f"{server.url}/oauth/token", "api_base": server.url}
            for p in ("TWITTER", "LINKEDIN", "TIKTOK")}
        yield server


def _base(tenant):
    return f"/o/{tenant.slug}/marketing/social/accounts/"


def _start(client, tenant, platform):
    started = client.post(f"{_base(tenant)}sign-in/{platform}/")
    assert started.status_code == 302, started.content.decode()[:2000]
    return started["Location"]


def _approve(authorize_url):
    """The browser at the platform: the person approves; where it is sent back to."""
    answer = httpx.get(authorize_url, follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return back.path, dict(parse_qsl(back.query))


def _connection(tenant):
    with tenant_scope(tenant):
        return SocialConnection.objects.get()


@pytest.mark.parametrize("platform", ["TWITTER", "TIKTOK"])
def test_sign_in_connects_the_account_with_an_encrypted_token(tenant, owner, fake, platform):
    client = signed_in(owner)
    page = client.get(_base(tenant)).content.decode()
    assert f'id="oauth-{platform.lower()}"' in page
    authorize = _start(client, tenant, platform)
    query = dict(parse_qsl(urlsplit(authorize).query))
    assert authorize.startswith(f"{fake.url}/oauth/authorize?")
    assert query["code_challenge_method"] == "S256" and query["response_type"] == "code"
    assert query["redirect_uri"] == (f"http://testserver{_base(tenant)}sign-in/{platform}/"
                                     "callback/")
    state = signing.loads(query["state"], salt=STATE_SALT)
    assert (state["t"], state["p"]) == (str(tenant.pk), platform)

    path, params = _approve(authorize)
    done = client.get(path, params)
    assert done.status_code == 302 and done["Location"] == _base(tenant)
    conn = _connection(tenant)
    assert conn.platform == platform and conn.status == "ACTIVE"
    assert conn.account_id == {"TWITTER": fake.x_user_id, "TIKTOK": fake.tt_open_id}[platform]
    assert fake.tokens[platform] not in conn.access_token_encrypted
    assert decrypt(conn.access_token_encrypted) == fake.tokens[platform]
    assert decrypt(conn.refresh_token_encrypted).startswith("refresh-")
    assert conn.token_expires_at is not None and conn.settings["api_base"] == fake.url
    assert fake.count("oauth.token") == 1

    # The same callback again: the state was used up; nothing is exchanged again.
    again = client.get(path, params)
    assert again.status_code == 400
    assert "already used" in again.content.decode()
    assert fake.count("oauth.token") == 1


def test_a_forged_or_foreign_state_is_refused(tenant, owner, fake, make_user, make_tenant):
    client = signed_in(owner)
    path, params = _approve(_start(client, tenant, "LINKEDIN"))
    # The same person, the same browser, at another organization they own: refused.
    other_org = make_tenant("Beta Club", slug="beta", owner=owner)
    elsewhere = client.get(path.replace(f"/o/{tenant.slug}/", f"/o/{other_org.slug}/"), params)
    assert elsewhere.status_code == 400
    assert "another organization, person or platform" in elsewhere.content.decode()
    forged = client.get(path, {**params, "state": params["state"][:-3] + "abc"})
    assert forged.status_code == 400 and "not valid" in forged.content.decode()
    # Another signed-in person of the organization cannot finish someone else's sign-in.
    other = make_user(email="second@example.org")
    from tend.core.tests.apitools import add_member

    add_member(tenant, other, "owner")
    stranger = signed_in(other)
    refused = stranger.get(path, params)
    assert refused.status_code == 400
    assert "another organization, person or platform" in refused.content.decode()
    # A state made for LinkedIn does not finish a TikTok sign-in.
    wrong = client.get(f"{_base(tenant)}sign-in/TIKTOK/callback/", params)
    assert wrong.status_code == 400
    with tenant_scope(tenant):
        assert SocialConnection.objects.count() == 0
    # The real owner in the right browser still can (nothing above used the state up).
    assert client.get(path, params).status_code == 302
    assert _connection(tenant).platform == "LINKEDIN"


def test_denied_access_and_a_refused_code_say_why(tenant, owner, fake):
    client = signed_in(owner)
    path, params = _approve(_start(client, tenant, "TWITTER"))
    denied = client.get(path, {"state": params["state"], "error": "access_denied",
                               "error_description": "The user denied the request."})
    assert denied.status_code == 400
    assert "did not grant access: The user denied the request." in denied.content.decode()

    path, params = _approve(_start(client, tenant, "TWITTER"))
    fake.codes.clear()  # the code expired at the platform
    refused = client.get(path, params)
    assert refused.status_code == 400
    assert "refused the sign-in: The code is invalid or expired." in refused.content.decode()
    with tenant_scope(tenant):
        assert SocialConnection.objects.count() == 0


def test_a_platform_without_an_app_offers_only_the_token(tenant, owner, fake, settings):
    settings.TEND_SOCIAL_OAUTH = {}
    client = signed_in(owner)
    assert 'id="oauth-buttons"' not in client.get(_base(tenant)).content.decode()
    refused = client.post(f"{_base(tenant)}sign-in/TWITTER/")
    assert refused.status_code == 422
    assert "not set up on this server" in refused.content.decode()
