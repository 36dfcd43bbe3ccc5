"""A person unsubscribes from marketing email through the link in the message."""

from __future__ import annotations

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.services.unsubscribe import unsubscribe_token
from tend.people.models import Consent, Contact
from tend.people.services.consent import consent_set


def test_the_unsubscribe_link_asks_then_revokes_email_marketing(page, tenant):
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name="Amal",
                                         primary_email="amal@example.com", language="ar")
        consent_set(tenant=tenant, actor=Actor.system(), contact=contact, channel="EMAIL",
                    status="GRANTED", source="signup form")
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)

    page.goto(f"/u/{token}/")
    page.locator("#lang-en").click()  # the contact reads Arabic; this visitor switches
    page.wait_for_load_state()
    assert page.locator("#unsubscribe-state").get_attribute("data-state") == "confirm"
    assert "Acme Club" in page.locator("#unsubscribe-state").inner_text()
    page.get_by_role("button", name="Unsubscribe").click()
    page.wait_for_load_state()

    assert page.locator("#unsubscribe-title").inner_text() == "You are unsubscribed"
    with tenant_scope(tenant):
        consent = Consent.objects.get(contact=contact, channel="EMAIL", purpose="MARKETING")
    assert (consent.status, consent.source) == ("REVOKED", "unsubscribe link")


def test_a_broken_link_says_so(page):
    response = page.goto("/u/not-a-token/")
    assert response.status == 404
    assert page.locator("#unsubscribe-state").get_attribute("data-state") == "invalid"
