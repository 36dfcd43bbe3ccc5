"""In a real browser: review a duplicate pair, set one aside, and merge the other through the
merge screen (choose a value, preview, confirm)."""

import re

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.people.models import Contact, DuplicateCandidate, IdentityAlias

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _person(tenant, first, last, email, city):
    contact = Contact.objects.create(tenant=tenant, first_name=first, last_name=last,
                                     display_name=f"{first} {last}", city=city,
                                     primary_email=email)
    IdentityAlias.objects.create(tenant=tenant, contact=contact, type="EMAIL", value=email,
                                 is_primary=True)
    return contact


def test_review_and_merge_a_pair(page, login, tenant, owner):
    with tenant_scope(tenant):
        sarah = _person(tenant, "Sarah", "Mitchell", "sarah@example.com", "")
        sara = _person(tenant, "Sara", "Mitchel", "sara@example.org", "London")
        other = _person(tenant, "Samuel", "Mitchell", "sam@example.net", "Leeds")
        a, b = sorted([sarah.pk, sara.pk])
        merge_pair = DuplicateCandidate.objects.create(
            tenant=tenant, contact_a_id=a, contact_b_id=b, match_type="NAME", score=95,
            matched_fields=["name"])
        a, b = sorted([sarah.pk, other.pk])
        wrong_pair = DuplicateCandidate.objects.create(
            tenant=tenant, contact_a_id=a, contact_b_id=b, match_type="NAME", score=80,
            matched_fields=["name"])
    login("owner@example.com")
    page.goto("/o/acme/people/duplicates/")
    wrong_row = page.locator(f"#duplicate-{wrong_pair.pk}")
    wrong_row.get_by_role("button", name="Not a duplicate").click()
    expect(page.locator(f"#duplicate-{wrong_pair.pk}")).to_contain_text("Not a duplicate")

    page.locator(f"#duplicate-{merge_pair.pk}").get_by_role("link", name="Merge").click()
    expect(page.get_by_role("heading", name="Merge contacts")).to_be_visible()
    winner_is_sarah = merge_pair.contact_a_id == sarah.pk
    if not winner_is_sarah:
        page.locator("#merge-swap").click()
    row = page.locator("#merge-row-last_name")
    row.get_by_label("Mitchel", exact=True).check()
    page.locator("#merge-preview").click()
    expect(page.locator("#merge-row-last_name .result")).to_have_text("Mitchel")
    expect(page.locator("#merge-row-city .result")).to_have_text("London")
    page.locator("#merge-confirm").click()
    expect(page).to_have_url(re.compile(f"/o/acme/people/contacts/{sarah.pk}/$"))
    with tenant_scope(tenant):
        sarah.refresh_from_db()
        sara.refresh_from_db()
        resolutions = dict(DuplicateCandidate.objects.values_list("pk", "resolution"))
    assert (sarah.display_name, sarah.city, sara.status, sara.merged_into_id) == (
        "Sarah Mitchel", "London", "MERGED", sarah.pk)
    assert resolutions == {merge_pair.pk: "MERGED", wrong_pair.pk: "NOT_DUPLICATE"}
