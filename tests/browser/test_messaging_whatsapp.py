"""In a real browser: connect a WhatsApp number against the fake Cloud API, let Meta verify
the webhook address shown, and receive a signed message from a new person."""

import pytest

from tend.core.tenancy import tenant_scope
from tend.messaging.fakes import FakeWhatsApp
from tend.messaging.models import ChannelAccount, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_a_whatsapp_number_and_receive_a_message(page, login, make_tenant, make_user):
    owner = make_user("wa-owner@example.com")
    tenant = make_tenant("Pool Club", slug="poolclub", owner=owner)
    login("wa-owner@example.com")
    with FakeWhatsApp() as wa:
        page.goto("/o/poolclub/messaging/channels/")
        page.locator("#connect-whatsapp").click()
        page.get_by_label("Name").fill("Front desk")
        page.get_by_label("Phone number ID").fill(wa.phone_number_id)
        page.get_by_label("Graph API address").fill(wa.url)
        page.get_by_label("Access token").fill(wa.access_token)
        page.get_by_label("App secret").fill(wa.app_secret)
        page.get_by_label("Verify token").fill(wa.verify_token)
        page.locator("#account-save").click()
        page.wait_for_load_state()
        assert page.locator("#account-status").get_attribute("data-status") == "ACTIVE"
        webhook = page.locator("#account-webhook-url").inner_text().strip()
        assert wa.access_token not in page.content()
        assert wa.app_secret not in page.content()

        # Meta checks the address with the verify token, then posts signed messages to it.
        check = wa.verify(webhook, challenge="8675309")
        assert (check.status_code, check.text) == (200, "8675309")
        assert wa.verify(webhook, verify_token="guess").status_code == 403
        answer = wa.deliver(webhook, wa.message_event("971501234567", "Is the pool open?",
                                                      name="Amal Haddad"))
        assert answer.status_code == 200
        forged = wa.deliver(webhook, wa.message_event("971501234567", "forged"),
                            secret="not the app secret")
        assert forged.status_code == 403

    with tenant_scope(tenant):
        account = ChannelAccount.objects.get()
        message = Message.objects.select_related("contact").get()
    assert account.settings["display_phone_number"] == "15550783881"
    assert (message.body, message.contact.first_name, message.contact.last_name) == (
        "Is the pool open?", "Amal", "Haddad")
