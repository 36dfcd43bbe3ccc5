"""In a real browser: open the inbox, open a conversation, reply, watch the delivered tick
appear after the provider's status update (no reload), assign it and resolve it."""

import pytest
from playwright.sync_api import expect

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member
from tend.messaging.models import ChannelAccount, Message
from tend.messaging.providers import ParsedMessage, Sender, StatusUpdate
from tend.messaging.services.inbound import inbound_append, message_apply_status
from tend.people.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reply_see_delivery_assign_and_resolve(page, login, tenant, owner, make_user):
    agent = make_user("agent@example.com", full_name="Aziz Agent")
    add_member(tenant, agent, "agent")
    with tenant_scope(tenant):
        account = ChannelAccount.objects.create(tenant=tenant, kind="WEB", name="Website chat",
                                                status="ACTIVE")
        amal = Contact.objects.create(tenant=tenant, first_name="Amal",
                                      display_name="Amal Haddad")
        inbound_append(tenant=tenant, account=account, contact=amal, parsed=ParsedMessage(
            provider_message_id="m1", sender=Sender(identifiers=[]), chat_id=str(amal.pk),
            text="Is the beginners' course still open?"))
    login("owner@example.com")
    page.goto("/o/acme/messaging/inbox/")
    expect(page.locator("#view-unassigned .count")).to_have_text("1")
    page.get_by_role("link", name="Amal Haddad").first.click()
    expect(page.locator("#thread-contact")).to_have_text("Amal Haddad")
    expect(page.locator("#thread-messages")).to_contain_text("beginners' course")

    page.locator("#reply-body").fill("Yes, a few places are left.")
    page.locator("#reply-submit").click()
    outbound = page.locator("#thread-messages .bubble.outbound")
    expect(outbound).to_contain_text("Yes, a few places are left.")
    expect(outbound.locator(".ticks")).to_have_attribute("data-status", "QUEUED")
    expect(page.locator("#reply-body")).to_have_value("")

    # The outbox hands it to the provider, which later reports delivery.
    with tenant_scope(tenant):
        message = Message.objects.get(tenant=tenant, direction="OUTBOUND")
        Message.objects.filter(pk=message.pk).update(status="SENT", provider_message_id="pm-1")
        message_apply_status(tenant=tenant, account=account, update=StatusUpdate(
            provider_message_id="pm-1", status="DELIVERED"))
    expect(outbound.locator(".ticks")).to_have_attribute("data-status", "DELIVERED")
    expect(outbound.locator(".ticks")).to_contain_text("✓✓")

    page.locator("#assignee-select").select_option(label="Aziz Agent")
    page.locator("#assign-submit").click()
    expect(page.locator("#thread-assignee")).to_have_text("Assigned to Aziz")
    page.locator("#resolve").click()
    expect(page.locator("#thread-status")).to_have_text("Resolved")
    expect(page.locator("#reopen")).to_be_visible()
