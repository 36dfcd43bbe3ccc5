"""In a real browser at phone width (390 by 844): the sidebar folds into a menu button, opens,
and still takes the person where they want to go; nothing spills sideways."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(chromium, live_server):
    context = chromium.new_context(base_url=live_server.url, locale="en-US",
                                   viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_navigation_collapses_and_still_works(phone, live_server, tenant, owner):
    phone.goto("/login/")
    phone.get_by_label("Email").fill("owner@example.com")
    phone.get_by_label("Password").fill("correct horse battery")
    phone.get_by_role("button", name="Sign in").tap()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Acme Club")

    nav = phone.get_by_role("navigation", name="Main")
    toggle = phone.get_by_role("button", name="Menu")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    assert _page_width(phone) <= 390

    toggle.tap()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="Members").tap()

    expect(phone).to_have_url(f"{live_server.url}/o/acme/settings/members/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Members")
    expect(nav).to_be_hidden()
    expect(phone.get_by_role("button", name="Menu")).to_have_attribute("aria-expanded", "false")
    assert _page_width(phone) <= 390

    # Escape closes an open menu too.
    phone.get_by_role("button", name="Menu").tap()
    expect(nav).to_be_visible()
    phone.keyboard.press("Escape")
    expect(nav).to_be_hidden()
