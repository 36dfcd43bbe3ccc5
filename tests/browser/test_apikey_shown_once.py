"""In a real browser: create an API key, see its secret once, copy it, and find it listed
without the secret afterwards."""

import pytest

from tend.core.models import ApiKey
from tend.core.tenancy import tenant_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_an_api_key_and_see_it_once(page, make_tenant, make_user):
    owner = make_user("browser-owner@example.com", full_name="Bea Browser")
    tenant = make_tenant("Browser Club", slug="browser", owner=owner)
    page.goto("/login/")
    page.get_by_label("Email").fill("browser-owner@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.locator("#login-submit").click()
    page.wait_for_load_state()

    page.goto("/o/browser/settings/api-keys/")
    page.locator("#apikey-add").click()
    page.get_by_label("Name").fill("Zapier")
    page.locator('input[value="members.view"]').check()
    page.locator('input[value="tags.view"]').check()
    page.locator("#apikey-submit").click()

    secret = page.locator("#apikey-secret").inner_text().strip()
    with tenant_scope(tenant):
        api_key = ApiKey.objects.get(name="Zapier")
    assert secret.startswith(f"tend_{api_key.prefix}_")
    assert api_key.permissions == ["members.view", "tags.view"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#apikey-copy").click()
    page.locator("#apikey-copy-status").get_by_text("Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.locator("#apikey-done").click()
    page.wait_for_load_state()
    listing = page.content()
    assert "Zapier" in listing
    assert secret not in listing
    assert f"tend_{api_key.prefix}_…" in listing

    page.reload()
    assert secret not in page.content()
