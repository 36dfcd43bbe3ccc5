"""Messaging → Channels pages: connect a Telegram bot (form from the provider's fields),
secrets never shown again, change, disable, default; the contact page's Telegram panel."""

import pytest

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import ChannelAccount, TelegramLink
from tend.people.services.contacts import contact_create

URL = "/o/acme/messaging/channels/"


@pytest.fixture
def owner_client(client, tenant, owner):
    client.force_login(owner)
    return client


def _connect(client, fake, token=None):
    return client.post(f"{URL}connect/telegram/", {
        "name": "Club bot", "bot_token": token or fake.token, "api_base": fake.url})


def _account(tenant) -> ChannelAccount:
    with tenant_scope(tenant):
        return ChannelAccount.objects.get()


def test_connect_form_lists_the_provider_fields(owner_client):
    page = owner_client.get(f"{URL}connect/telegram/").content.decode()
    assert 'name="bot_token"' in page and 'type="password"' in page
    assert 'name="api_base"' in page
    assert owner_client.get(f"{URL}connect/fax/").status_code == 404


def test_connect_shows_status_webhook_and_never_the_token(owner_client, tenant, fake_telegram):  # noqa: F811
    response = _connect(owner_client, fake_telegram)
    account = _account(tenant)
    assert response.status_code == 302
    assert response["Location"] == f"{URL}{account.pk}/"

    page = owner_client.get(response["Location"]).content.decode()
    assert 'data-status="ACTIVE"' in page
    assert f"http://testserver/hooks/messaging/{account.webhook_key}/" in page
    assert "@tend_test_bot" in page
    assert fake_telegram.token not in page
    assert account.credentials["webhook_secret"] not in page
    listing = owner_client.get(URL).content.decode()
    assert f'id="account-{account.pk}"' in listing and fake_telegram.token not in listing


def test_a_missing_token_is_a_field_error(owner_client, tenant):
    response = owner_client.post(f"{URL}connect/telegram/", {"name": "Club bot"})
    assert response.status_code == 422
    assert 'id="id_bot_token_error"' in response.content.decode()


def test_a_bad_token_shows_the_error_on_the_account(owner_client, tenant, fake_telegram):  # noqa: F811
    _connect(owner_client, fake_telegram, token="123:AAnotknownnotknownnotknown")
    account = _account(tenant)
    page = owner_client.get(f"{URL}{account.pk}/").content.decode()
    assert 'data-status="ERROR"' in page
    assert "Telegram does not know this token." in page


def test_change_with_a_blank_token_keeps_it(owner_client, tenant, fake_telegram):  # noqa: F811
    _connect(owner_client, fake_telegram)
    account = _account(tenant)
    response = owner_client.post(f"{URL}{account.pk}/", {"name": "Renamed",
                                                         "api_base": fake_telegram.url})
    assert response.status_code == 302
    account = _account(tenant)
    assert (account.name, account.status) == ("Renamed", "ACTIVE")
    assert account.credentials["bot_token"] == fake_telegram.token


def test_disable_and_reconnect(owner_client, tenant, fake_telegram):  # noqa: F811
    _connect(owner_client, fake_telegram)
    account = _account(tenant)
    owner_client.post(f"{URL}{account.pk}/disable/")
    assert _account(tenant).status == "DISABLED"
    owner_client.post(f"{URL}{account.pk}/reconnect/")
    assert _account(tenant).status == "ACTIVE"


def test_viewers_see_the_list_without_actions(client, tenant, make_user, owner_client,
                                              fake_telegram):  # noqa: F811
    _connect(owner_client, fake_telegram)
    account = _account(tenant)
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client.force_login(viewer)
    page = client.get(URL)
    assert page.status_code == 200
    assert f'id="disable-{account.pk}"' not in page.content.decode()
    assert client.post(f"{URL}{account.pk}/disable/").status_code == 403
    assert client.get(f"{URL}connect/telegram/").status_code == 403


def test_the_contact_panel_creates_a_link(owner_client, tenant, fake_telegram):  # noqa: F811
    with tenant_scope(tenant):
        contact = contact_create(tenant=tenant, actor=Actor.system(),
                                 data={"first_name": "Huda"})
    detail = f"/o/acme/people/contacts/{contact.pk}/"
    page = owner_client.get(detail).content.decode()
    assert 'id="contact-telegram"' in page
    assert 'id="telegram-link-create"' not in page  # no bot yet

    _connect(owner_client, fake_telegram)
    assert 'id="telegram-link-create"' in owner_client.get(detail).content.decode()
    response = owner_client.post(f"/o/acme/messaging/contacts/{contact.pk}/telegram-link/",
                                 HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    with tenant_scope(tenant):
        link = TelegramLink.objects.get()
    assert f"https://t.me/tend_test_bot?start={link.code}" in response.content.decode()


def test_whatsapp_shows_the_verify_token_but_no_other_secret(owner_client, tenant):
    from tend.messaging.fakes.whatsapp import FakeWhatsApp

    with FakeWhatsApp() as wa:
        response = owner_client.post(f"{URL}connect/whatsapp/", {
            "name": "Support line", "phone_number_id": wa.phone_number_id,
            "api_base": wa.url, "access_token": wa.access_token,
            "app_secret": wa.app_secret, "verify_token": wa.verify_token})
        assert response.status_code == 302
        page = owner_client.get(response["Location"]).content.decode()
    assert 'data-status="ACTIVE"' in page
    assert wa.verify_token in page
    assert wa.access_token not in page and wa.app_secret not in page
    assert "/hooks/messaging/" in page


def test_channel_list_queries_do_not_grow_with_accounts(scoped, owner, client,
                                                        django_assert_max_num_queries):
    from tend.core.tests.apitools import signed_in

    ChannelAccount.objects.create(tenant=scoped, kind="WEB", status="ACTIVE", name="One")
    api = signed_in(owner, scoped)
    client.force_login(owner)
    with django_assert_max_num_queries(30) as few:
        api.get("/api/v1/channels")
        client.get("/o/acme/messaging/channels/")
    for n in range(8):
        ChannelAccount.objects.create(tenant=scoped, kind="WEB", status="ACTIVE", name=f"More {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get("/api/v1/channels").json()["items"]) == 9
        assert client.get("/o/acme/messaging/channels/").status_code == 200


def test_another_organizations_account_and_contact_are_404(owner_client, make_tenant,
                                                           make_user):
    other = make_tenant("Other Club", slug="other", owner=make_user("other@example.com"))
    with tenant_scope(other):
        account = ChannelAccount.objects.create(tenant=other, kind="WEB", name="Theirs",
                                                status="ACTIVE")
        contact = contact_create(tenant=other, actor=Actor.system(), data={"first_name": "X"})
    assert owner_client.get(f"{URL}{account.pk}/").status_code == 404
    for action in ("disable", "reconnect", "default"):
        assert owner_client.post(f"{URL}{account.pk}/{action}/").status_code == 404
    assert owner_client.post(
        f"/o/acme/messaging/contacts/{contact.pk}/telegram-link/").status_code == 404
    with tenant_scope(other):
        assert ChannelAccount.objects.get(pk=account.pk).status == "ACTIVE"
