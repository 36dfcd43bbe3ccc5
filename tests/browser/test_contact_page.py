"""In a real browser: open a contact, add a note and log an interaction; both appear in their
sections and on the timeline without reloading the page."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact, Interaction, Note

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_note_and_interaction_reach_the_timeline(page, login, tenant, owner):
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name="Lina", last_name="Haddad",
                                         display_name="Lina Haddad")
    login("owner@example.com")
    page.goto(f"/o/acme/people/contacts/{contact.pk}/")
    expect(page.locator("#contact-name")).to_have_text("Lina Haddad")
    expect(page.locator("#timeline-empty")).to_be_visible()

    note_form = page.locator("#note-form")
    note_form.get_by_label("Note").fill("Prefers **morning** calls")
    note_form.get_by_role("button", name="Add note").click()
    expect(page.locator("#notes-list strong")).to_have_text("morning")
    expect(page.locator('#timeline [data-type="NOTE_ADDED"]')).to_contain_text(
        "Prefers morning calls")

    page.get_by_text("Log an interaction").click()
    form = page.locator("#interaction-form")
    form.get_by_label("Channel").select_option(label="Phone")
    form.get_by_label("Summary").fill("Called about the retreat")
    form.get_by_label("Follow up on").fill("2030-05-01")
    form.get_by_role("button", name="Log interaction").click()
    expect(page.locator("#interactions-list")).to_contain_text("Called about the retreat")
    expect(page.locator('#timeline [data-type="INTERACTION_LOGGED"]')).to_contain_text(
        "Called about the retreat")
    expect(page.locator("#timeline .timeline-item")).to_have_count(2)

    with tenant_scope(tenant):
        assert list(Note.objects.values_list("body", flat=True)) == [
            "Prefers **morning** calls"]
        assert Interaction.objects.get().follow_up_on.isoformat() == "2030-05-01"
