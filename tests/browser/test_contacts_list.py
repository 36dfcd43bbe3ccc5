"""In a real browser: add a contact through the form, then find it from the contacts list by
typing part of its email into the live search."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_a_contact_and_find_it_by_search(page, login, tenant, owner):
    with tenant_scope(tenant):
        Contact.objects.create(tenant=tenant, first_name="Omar", display_name="Omar")
    login("owner@example.com")
    page.goto("/o/acme/people/contacts/")
    page.locator("#contact-add").click()
    form = page.locator("#contact-form")
    form.get_by_label("First name").fill("Lina")
    form.get_by_label("Last name").fill("Haddad")
    form.get_by_label("Emails").fill("lina@example.com")
    form.get_by_label("Lifecycle stage").select_option(label="Member")
    form.get_by_role("button", name="Add contact").click()
    expect(page.locator("#contact-name")).to_have_text("Lina Haddad")

    page.goto("/o/acme/people/contacts/")
    expect(page.locator("#contacts-table tbody tr")).to_have_count(2)
    page.get_by_role("searchbox", name="Search").fill("lina@exa")
    expect(page.locator("#contacts-table tbody tr")).to_have_count(1)
    expect(page.locator("#contacts-table")).to_contain_text("Lina Haddad")
    assert "q=lina%40exa" in page.url

    with tenant_scope(tenant):
        contact = Contact.objects.get(display_name="Lina Haddad")
        assert (contact.primary_email, contact.lifecycle_stage) == ("lina@example.com", "MEMBER")
