"""The channels API: connect a Telegram bot against the fake, secrets write-only, change,
reconnect, disable, default; Telegram links for a contact."""

import json

import pytest

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import ChannelAccount
from tend.people.services.contacts import contact_create


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


def call(client, method, path, data=None):
    return getattr(client, method)(f"/api/v1{path}", data=json.dumps(data or {}),
                                   content_type="application/json")


def connect(api, fake, **values):
    return call(api, "post", "/channels", {
        "kind": "TELEGRAM", "name": "Club bot",
        "values": {"bot_token": fake.token, "api_base": fake.url, **values}})


def test_providers_list_their_fields(api):
    response = api.get("/api/v1/channels/providers")
    assert response.status_code == 200
    telegram = next(p for p in response.json() if p["kind"] == "TELEGRAM")
    assert [(f["name"], f["secret"]) for f in telegram["credential_fields"]] == [
        ("bot_token", True)]
    assert [f["name"] for f in telegram["setting_fields"]] == ["api_base"]


def test_connect_a_telegram_bot_secrets_never_come_back(api, fake_telegram):  # noqa: F811
    response = connect(api, fake_telegram)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "ACTIVE"
    assert body["settings"]["username"] == "tend_test_bot"
    assert body["secrets_set"] == ["bot_token", "webhook_secret"]
    assert body["webhook_url"].startswith("http://testserver/hooks/messaging/")
    assert fake_telegram.token not in response.content.decode()
    listed = api.get("/api/v1/channels").json()["items"]
    assert [a["id"] for a in listed] == [body["id"]]
    assert fake_telegram.token not in api.get(f"/api/v1/channels/{body['id']}").content.decode()


def test_the_public_url_setting_names_the_webhook(api, fake_telegram, settings):  # noqa: F811
    settings.TEND_PUBLIC_URL = "https://crm.example.org"
    body = connect(api, fake_telegram).json()
    assert body["webhook_url"].startswith("https://crm.example.org/hooks/messaging/")
    assert fake_telegram.bot().webhook_url == body["webhook_url"]


def test_a_bad_token_keeps_the_account_with_its_error(api, fake_telegram):  # noqa: F811
    response = connect(api, fake_telegram, bot_token="123:AAnotknownnotknownnotknown")
    assert response.status_code == 201
    assert response.json()["status"] == "ERROR"
    assert response.json()["last_error"] == "Telegram does not know this token."


def test_bad_input_is_a_422_with_field_errors(api):
    response = call(api, "post", "/channels", {"kind": "TELEGRAM", "name": "", "values": {}})
    assert response.status_code == 422
    fields = response.json()["errors"] if "errors" in response.json() else response.json()
    assert "bot_token" in json.dumps(fields) and "name" in json.dumps(fields)
    response = call(api, "post", "/channels", {"kind": "FAX", "name": "x", "values": {}})
    assert response.status_code == 422
    response = call(api, "post", "/channels", {"kind": "TELEGRAM", "name": "x",
                                               "tenant": "other"})
    assert response.status_code == 422
    response = call(api, "post", "/channels", {"kind": "TELEGRAM", "name": "x",
                                               "values": {"bot_tokn": "123:AA"}})
    assert response.status_code == 422
    assert "values.bot_tokn" in response.content.decode()


def test_change_keeps_a_blank_secret_and_reconnects(api, fake_telegram, tenant):  # noqa: F811
    account_id = connect(api, fake_telegram).json()["id"]
    response = call(api, "patch", f"/channels/{account_id}",
                    {"name": "Renamed bot", "values": {"bot_token": ""}})
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["status"]) == ("Renamed bot", "ACTIVE")
    with tenant_scope(tenant):
        assert ChannelAccount.objects.get().credentials["bot_token"] == fake_telegram.token


def test_disable_reconnect_and_default(api, fake_telegram):  # noqa: F811
    first = connect(api, fake_telegram).json()
    second_token = fake_telegram.add_bot(username="second_bot")
    second = call(api, "post", "/channels", {
        "kind": "TELEGRAM", "name": "Second bot",
        "values": {"bot_token": second_token, "api_base": fake_telegram.url}}).json()
    assert (first["is_default"], second["is_default"]) == (True, False)

    assert call(api, "post", f"/channels/{second['id']}/default").json()["is_default"] is True
    assert api.get(f"/api/v1/channels/{first['id']}").json()["is_default"] is False

    disabled = call(api, "post", f"/channels/{first['id']}/disable").json()
    assert disabled["status"] == "DISABLED"
    assert fake_telegram.bot().webhook_url == ""
    again = call(api, "post", f"/channels/{first['id']}/reconnect").json()
    assert again["status"] == "ACTIVE"
    assert fake_telegram.bot().webhook_url == again["webhook_url"]


def test_viewers_see_but_cannot_manage(tenant, make_user, fake_telegram, api):  # noqa: F811
    account_id = connect(api, fake_telegram).json()["id"]
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    assert client.get("/api/v1/channels").status_code == 200
    assert call(client, "post", f"/channels/{account_id}/disable").status_code == 403
    assert call(client, "post", "/channels", {"kind": "TELEGRAM", "name": "x",
                                              "values": {}}).status_code == 403


def test_telegram_links_for_a_contact(api, fake_telegram, tenant):  # noqa: F811
    with tenant_scope(tenant):
        contact = contact_create(tenant=tenant, actor=Actor.system(),
                                 data={"first_name": "Huda"})
    assert call(api, "post", f"/contacts/{contact.pk}/telegram-links").status_code == 422
    connect(api, fake_telegram)

    response = call(api, "post", f"/contacts/{contact.pk}/telegram-links",
                    {"expires_in_days": 2})
    assert response.status_code == 201
    link = response.json()
    assert link["url"].startswith("https://t.me/tend_test_bot?start=")
    assert link["used_at"] is None
    listed = api.get(f"/api/v1/contacts/{contact.pk}/telegram-links").json()
    assert [item["id"] for item in listed] == [link["id"]]
    assert call(api, "post", f"/contacts/{contact.pk}/telegram-links",
                {"expires_in_days": 365}).status_code == 422


def test_telegram_links_keep_to_the_contacts_the_member_may_see(api, fake_telegram,  # noqa: F811
                                                                 tenant):
    from django.db.models import Q

    from tend.people.visibility import register_contact_scope, unregister_contact_scope

    def hide_hidden(*, tenant, actor):
        return ~Q(first_name="Hidden")

    with tenant_scope(tenant):
        hidden = contact_create(tenant=tenant, actor=Actor.system(),
                                data={"first_name": "Hidden"})
    connect(api, fake_telegram)
    register_contact_scope(hide_hidden)
    try:
        assert api.get(f"/api/v1/contacts/{hidden.pk}/telegram-links").status_code == 404
        assert call(api, "post", f"/contacts/{hidden.pk}/telegram-links").status_code == 404
    finally:
        unregister_contact_scope(hide_hidden)
