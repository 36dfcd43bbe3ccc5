"""In a real browser: connect a Telegram bot against the fake Bot API, create a one-time link
on a contact's page, then press Start as the person would (the fake posts `/start <code>` to
the webhook it was given) and see the verified Telegram identity on the contact."""

import re

import pytest

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.people.models import IdentityAlias
from tend.people.services.contacts import contact_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_connect_a_bot_and_link_a_contacts_telegram(page, login, make_tenant, make_user,
                                                    fake_telegram):  # noqa: F811
    owner = make_user("bots-owner@example.com")
    tenant = make_tenant("Bot Club", slug="botclub", owner=owner)
    with tenant_scope(tenant):
        contact = contact_create(tenant=tenant, actor=Actor.system(),
                                 data={"first_name": "Huda", "last_name": "Nasser"})
    login("bots-owner@example.com")

    page.goto("/o/botclub/messaging/channels/")
    page.locator("#connect-telegram").click()
    page.get_by_label("Name").fill("Club bot")
    page.get_by_label("Bot token").fill(fake_telegram.token)
    page.get_by_label("Bot API address").fill(fake_telegram.url)
    page.locator("#account-save").click()
    page.wait_for_load_state()
    assert page.locator("#account-status").get_attribute("data-status") == "ACTIVE"
    webhook = page.locator("#account-webhook-url").inner_text().strip()
    assert fake_telegram.bot().webhook_url == webhook
    assert fake_telegram.token not in page.content()

    page.goto(f"/o/botclub/people/contacts/{contact.pk}/")
    page.locator("#telegram-link-create").click()
    link = page.locator("#contact-telegram code").first
    link.wait_for()
    url = link.inner_text().strip()
    match = re.fullmatch(r"https://t\.me/tend_test_bot\?start=([A-Za-z0-9_-]+)", url)
    assert match, url

    answer = fake_telegram.deliver_update(fake_telegram.start_update(match.group(1),
                                                                     chat_id=810001))
    assert answer.status_code == 200

    page.reload()
    panel = page.locator("#contact-telegram")
    assert "810001" in panel.inner_text()
    assert panel.locator(".badge-success").count() == 1
    with tenant_scope(tenant):
        assert IdentityAlias.objects.get(type="TELEGRAM", value="810001").contact_id == contact.pk
