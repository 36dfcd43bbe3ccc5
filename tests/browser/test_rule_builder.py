"""In a real browser: build a rule on the "Try a rule" page — add a condition, see the error
at it until a value is typed, watch the count and sample follow, nest a group, remove it."""

import pytest
from playwright.sync_api import expect

from tend.core.models import Tag
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact, ContactTag

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_a_rule_and_see_who_matches(page, login, tenant, owner):
    with tenant_scope(tenant):
        vip = Tag.objects.create(tenant=tenant, name="VIP", slug="vip")
        for name, city in (("Amal", "Dubai"), ("Badr", "Doha"), ("Carla", "Dubai")):
            contact = Contact.objects.create(tenant=tenant, display_name=name, city=city)
            if name != "Carla":
                ContactTag.objects.create(tenant=tenant, contact=contact, tag=vip)
    login("owner@example.com")
    page.goto("/o/acme/rules/try/")
    count = page.locator(".rule-count")
    expect(count).to_contain_text("3 people match")

    page.locator("[data-action=add-rule]").first.click()
    condition = page.locator(".rule-condition[data-path='r.0']")
    expect(condition).to_be_visible()
    condition.locator("[data-role=field]").select_option("city")
    condition = page.locator(".rule-condition[data-path='r.0']")
    expect(condition.locator("input[name='r.0.previous']")).to_have_value("city")
    expect(condition.locator("[data-role=operator]")).to_have_value("equals")
    expect(condition.locator(".error")).to_contain_text("Enter a value")
    condition.locator("[data-role=value]").fill("dubai")
    condition.locator("[data-role=value]").press("Tab")
    expect(count).to_contain_text("2 people match")
    expect(page.locator(".rule-sample")).to_contain_text("Amal")
    expect(page.locator(".rule-sample")).not_to_contain_text("Badr")
    expect(page.locator(".rule-condition .error")).to_have_count(0)

    # A nested group: tagged VIP.
    page.locator("[data-action=add-group]").first.click()
    group = page.locator(".rule-group[data-path='r.1']")
    group.locator("[data-action=add-rule]").click()
    inner = page.locator(".rule-condition[data-path='r.1.0']")
    inner.locator("[data-role=field]").select_option("tags")
    inner = page.locator(".rule-condition[data-path='r.1.0']")
    expect(inner.locator("input[name='r.1.0.previous']")).to_have_value("tags")
    expect(inner.locator("[data-role=operator]")).to_have_value("hasAny")
    inner.locator("[data-role=value]").select_option(label="VIP")
    expect(count).to_contain_text("1 person matches")
    expect(page.locator(".rule-sample")).to_contain_text("Amal")

    # "Not" on the group flips it: Dubai and not VIP.
    page.locator("input[name='r.1.not']").check()
    expect(page.locator(".rule-sample")).to_contain_text("Carla")
    expect(count).to_contain_text("1 person matches")

    page.locator(".rule-group[data-path='r.1'] >> text=Remove group").click()
    expect(count).to_contain_text("2 people match")
