"""In a real browser: switching the interface to Arabic from the user menu turns the page
right-to-left (the sidebar moves to the right), and the choice is kept on the account."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _boxes(page):
    sidebar = page.locator("#sidebar").bounding_box()
    main = page.locator("#main").bounding_box()
    assert sidebar is not None and main is not None
    return sidebar, main


def test_arabic_is_right_to_left_and_kept_on_the_account(page, login, live_server, tenant,
                                                         owner):
    login("owner@example.com")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "ltr")
    sidebar, main = _boxes(page)
    assert sidebar["x"] == 0
    assert sidebar["x"] + sidebar["width"] <= main["x"]

    page.locator("#user-menu-toggle").click()
    languages = page.get_by_role("group", name="Language")
    expect(languages.get_by_role("button", name="English")).to_have_attribute(
        "aria-pressed", "true")
    languages.get_by_role("button", name="العربيّة").click()

    expect(page).to_have_url(f"{live_server.url}/o/acme/")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acme Club")
    expect(page.get_by_text("أهلًا بك يا Olive.")).to_be_visible()
    nav = page.get_by_role("navigation", name="التنقل الرئيسي")
    expect(nav.get_by_role("link", name="لوحة التحكم")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="الأعضاء")).to_be_visible()
    sidebar, main = _boxes(page)
    assert sidebar["x"] + sidebar["width"] == page.evaluate(
        "document.documentElement.clientWidth")
    assert main["x"] + main["width"] <= sidebar["x"]

    owner.refresh_from_db()
    assert owner.language == "ar"

    # Sign out, forget the browser's cookies (the language cookie too), sign in again:
    # the account still says Arabic.
    page.locator("#user-menu-toggle").click()
    page.get_by_role("button", name="تسجيل الخروج").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("تسجيل الدخول")
    page.context.clear_cookies()
    page.goto("/login/")
    expect(html).to_have_attribute("lang", "en")
    login("owner@example.com")

    expect(page).to_have_url(f"{live_server.url}/o/acme/")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    expect(page.get_by_role("link", name="لوحة التحكم")).to_be_visible()
