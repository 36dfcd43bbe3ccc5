"""In a real browser: create a template, see an unknown variable refused, publish it, and
preview the Arabic version for an Arabic-speaking contact."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_refuse_publish_and_preview_in_arabic(page, login, tenant, owner):
    with tenant_scope(tenant):
        Contact.objects.create(tenant=tenant, first_name="سالم", display_name="سالم العلي",
                               language="ar")
    login("owner@example.com")
    page.goto("/o/acme/messaging/templates/")
    expect(page.locator("#templates-table")).to_contain_text("welcome")
    page.locator("#template-add").click()
    page.locator("#id_key").fill("event_invite")
    page.locator("#id_channel").select_option("WHATSAPP")
    page.locator("#id_language").fill("ar")
    page.locator("#id_body").fill("مرحبا {{ contact.nickname }}")
    page.locator("#template-submit").click()
    expect(page.locator("#id_body_error")).to_contain_text("contact.nickname")

    page.locator("#id_body").fill("مرحبا {{ contact.first_name }}، ندعوك إلى "
                                      "{{ organization.name }}")
    page.locator("#template-submit").click()
    expect(page.locator("#template-status")).to_have_text("Draft")
    page.locator("#template-publish").click()
    expect(page.locator("#template-status")).to_have_text("Published")

    page.locator("#preview-contact").select_option(label="سالم العلي (ar)")
    page.locator("#preview-submit").click()
    expect(page.locator("#preview-body")).to_have_text("مرحبا سالم، ندعوك إلى Acme Club")
    expect(page.locator("#preview-output")).to_have_attribute("lang", "ar")
