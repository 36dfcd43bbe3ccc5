"""In a real browser: a form that is refused shows each error next to its field, marks the
field aria-invalid and ties the message to it, and keeps what was typed."""

import pytest
from playwright.sync_api import expect

from tend.core.models import Invitation
from tend.core.tenancy import tenant_scope

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_invite_with_a_bad_email_shows_the_error_at_the_field(page, login, tenant, owner):
    login("owner@example.com")
    page.goto("/o/acme/settings/members/")
    form = page.locator("#invite-form")
    email = form.get_by_label("Email")
    expect(email).not_to_have_attribute("aria-invalid", "true")
    email.fill("not-an-email")
    form.get_by_label("Role").select_option(label="Agent")
    form.get_by_role("button", name="Send invitation").click()

    expect(form.get_by_role("alert")).to_have_text("Please correct the fields marked below.")
    email = page.locator("#invite-form").get_by_label("Email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_value("not-an-email")
    error_id = email.get_attribute("aria-describedby")
    assert error_id
    error = page.locator(f"#{error_id}")
    expect(error).to_have_text("Enter a valid email address.")
    # Next to its field: inside the same field group, right below the input.
    field = page.locator("#invite-form .field").filter(has=page.get_by_label("Email"))
    expect(field.locator(f"#{error_id}")).to_be_visible()
    email_box, error_box = email.bounding_box(), error.bounding_box()
    assert email_box is not None and error_box is not None
    assert 0 <= error_box["y"] - (email_box["y"] + email_box["height"]) < 40
    # The other field is fine and keeps its choice.
    role = page.locator("#invite-form").get_by_label("Role")
    expect(role).not_to_have_attribute("aria-invalid", "true")
    expect(role.locator("option:checked")).to_have_text("Agent")
    with tenant_scope(tenant):
        assert Invitation.objects.filter(tenant=tenant).count() == 0
