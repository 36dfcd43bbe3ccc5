"""In a real browser: a staff member connects a TikTok account by signing in at the
platform (the fake approves at once and sends the browser back), sees it connected, and
sees a clear message when the same sign-in comes back a second time."""

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tend.core.crypto import decrypt
from tend.core.tenancy import tenant_scope
from tend.marketing.models import SocialConnection
from tend.marketing.social.fakes import FakeSocial

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_the_platform_connects_the_account(page, login, tenant, settings):
    with FakeSocial() as fake:
        client_id, secret = fake.oauth_clients["TIKTOK"]
        settings.TEND_SOCIAL_OAUTH = {"TIKTOK": {
            "client_id": client_id, "client_secret": secret,
            "authorize_url": f"{fake.url}/oauth/authorize",
            "token_url": f"{fake.url}/oauth/token", "api_base": fake.url}}
        login("owner@example.com")
        page.goto("/o/acme/marketing/social/accounts/")
        page.locator("#oauth-tiktok").click()
        page.wait_for_url("**/marketing/social/accounts/")
        expect(page.locator("#connections-table tbody tr")).to_have_count(1)
        expect(page.locator("#connections-table")).to_contain_text("Fairway Golf")
        with tenant_scope(tenant):
            conn = SocialConnection.objects.get()
        assert decrypt(conn.access_token_encrypted) == fake.tokens["TIKTOK"]
        # Coming back with the same answer again (a reload, a copied link): refused, said.
        asked = fake.requests("oauth.authorize")[0].query
        page.goto(f"{asked['redirect_uri']}?{urlencode({'code': 'c', 'state': asked['state']})}")
        expect(page.locator("#connect-errors")).to_contain_text("already used")
