"""In a real browser: build a 3-step journey (send, wait, end), activate it, enroll a contact
and find them in the enrollment inspector."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.marketing.tests.journey_helpers import publish_template
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_build_activate_enroll_and_inspect(page, login, tenant, owner):
    publish_template(tenant, key="hello-member")
    with tenant_scope(tenant):
        Contact.objects.create(tenant=tenant, display_name="Maha Saleh", first_name="Maha",
                               primary_email="maha@example.com")
    login("owner@example.com")

    page.goto("/o/acme/marketing/journeys/")
    page.locator("#journey-add").click()
    page.get_by_label("Name").fill("Welcome")
    page.locator("#journey-submit").click()
    expect(page.locator("h1")).to_contain_text("Welcome")
    expect(page.locator("#step-trigger")).to_be_visible()

    # Step 2: send the welcome email after the trigger.
    page.locator("#step-add-type").select_option("SEND")
    page.locator("#step-add-after").select_option("trigger")
    page.locator("#step-add").click()
    page.locator("#id_key").fill("hello")
    page.locator("#id_channel").select_option("EMAIL")
    page.locator("#id_template").fill("hello-member")
    page.locator("#step-submit").click()
    expect(page.locator("#step-hello")).to_contain_text("Send “hello-member” by EMAIL")

    # Step 3: wait two days after it (then the end).
    page.locator("#step-add-type").select_option("WAIT")
    page.locator("#step-add-after").select_option("hello")
    page.locator("#step-add").click()
    page.locator("#id_key").fill("pause")
    page.locator("#id_duration").fill("2 days")
    page.locator("#step-submit").click()
    expect(page.locator("#step-pause")).to_contain_text("Wait 2 days")

    page.locator("#journey-activate").click()
    expect(page.locator("#journey-status")).to_have_text("Active")

    page.locator("#enroll-search").fill("Maha")
    expect(page.locator("#enroll-contact")).to_contain_text("Maha Saleh")
    page.locator("#journey-enroll").click()
    expect(page.locator("body")).to_contain_text("Maha Saleh was enrolled.")

    page.goto("/o/acme/marketing/journeys/inspector/")
    page.get_by_label("Contact").fill("Maha")
    page.locator("#inspector-submit").click()
    page.get_by_role("link", name="Maha Saleh").click()
    result = page.locator("#inspector-result")
    expect(result).to_contain_text("Welcome")
    expect(result).to_contain_text("Now at: pause")
    expect(result).to_contain_text("next step at")
    expect(result.locator(".inspector-history")).to_contain_text("hello")
