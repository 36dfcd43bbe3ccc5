"""In a real browser: create a static list and fill it from the contacts list, then a dynamic
segment with the rule builder, and see its members."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_static_and_a_dynamic_segment(page, login, tenant, owner):
    with tenant_scope(tenant):
        for name, city in (("Amal", "dubai"), ("Badr", "doha"), ("Carla", "dubai")):
            Contact.objects.create(tenant=tenant, display_name=name, city=city)
    login("owner@example.com")

    # A static list, filled with the contacts list's bulk action.
    page.goto("/o/acme/marketing/segments/")
    expect(page.locator("#segments-table")).to_contain_text("All contacts")
    page.locator("#segment-add").click()
    page.get_by_label("Name").fill("Volunteers")
    page.get_by_label("Static list").check()
    page.locator("#segment-submit").click()
    expect(page.locator("h1")).to_contain_text("Volunteers")
    expect(page.locator("#segment-member-count")).to_have_text("0")
    page.goto("/o/acme/people/contacts/")
    page.get_by_label("Select Amal").check()
    page.get_by_label("Select Badr").check()
    page.locator("#bulk-action").select_option("segment")
    page.locator("#bulk-segment").select_option(label="Volunteers")
    page.locator("#bulk-submit").click()
    expect(page.locator("body")).to_contain_text("Added 2 contacts to Volunteers")
    page.goto("/o/acme/marketing/segments/")
    page.get_by_role("link", name="Volunteers").click()
    expect(page.locator("#segment-member-count")).to_have_text("2")
    expect(page.locator("#segment-members")).to_contain_text("Badr")

    # A dynamic segment built with the rule builder.
    page.goto("/o/acme/marketing/segments/new/")
    page.get_by_label("Name").fill("In Dubai")
    page.get_by_label("Dynamic (rules)").check()
    page.locator("#segment-rules [data-action=add-rule]").first.click()
    condition = page.locator(".rule-condition[data-path='r.0']")
    condition.locator("[data-role=field]").select_option("city")
    condition = page.locator(".rule-condition[data-path='r.0']")
    expect(condition.locator("input[name='r.0.previous']")).to_have_value("city")
    condition.locator("[data-role=value]").fill("dubai")
    condition.locator("[data-role=value]").press("Tab")
    expect(page.locator(".rule-count")).to_contain_text("2 people match")
    page.locator("#segment-submit").click()
    expect(page.locator("h1")).to_contain_text("In Dubai")
    expect(page.locator("#segment-member-count")).to_have_text("2")
    expect(page.locator("#segment-members")).to_contain_text("Carla")
    expect(page.locator("#segment-members")).not_to_contain_text("Badr")
    expect(page.locator("#segment-refreshes")).to_contain_text("Created")
