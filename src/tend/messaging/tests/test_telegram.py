"""The Telegram provider against the fake Bot API: connecting, the webhook's secret check and
de-duplication by update_id, parsing updates, and how send errors are classified."""

import threading

import pytest
from django.db import connection
from django.test import Client

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import AccountStatus, InboundStatus, MessageDirection
from tend.messaging.fakes import Delay, FakeTelegram
from tend.messaging.fakes.pytest_plugin import fake_telegram  # noqa: F401
from tend.messaging.models import ChannelAccount, Conversation, InboundEvent, Message
from tend.messaging.providers import OutgoingMessage, SendError, provider_for
from tend.messaging.providers import telegram as tg
from tend.messaging.providers.transport import ClientPool, Timeout
from tend.messaging.services.accounts import account_disable
from tend.messaging.tests.telegram_helpers import connect_bot, deliver, post_update
from tend.people.models import Consent, Contact, IdentityAlias


@pytest.fixture
def bot(scoped, fake_telegram):  # noqa: F811
    return connect_bot(scoped, fake_telegram)


# -- connecting ----------------------------------------------------------------------------


def test_connect_checks_the_token_and_sets_the_webhook_with_a_secret(scoped, fake_telegram):  # noqa: F811
    account = connect_bot(scoped, fake_telegram)

    assert account.status == AccountStatus.ACTIVE
    assert account.settings["username"] == "tend_test_bot"
    assert account.last_error == ""
    webhook = fake_telegram.bot()
    assert webhook.webhook_url == (f"http://testserver/hooks/messaging/"
                                   f"{account.webhook_key}/")
    stored = ChannelAccount.objects.get(pk=account.pk).credentials
    assert webhook.secret_token == stored["webhook_secret"]
    assert len(stored["webhook_secret"]) >= 32
    assert webhook.allowed_updates == tg.ALLOWED_UPDATES
    assert [r.op for r in fake_telegram.requests()] == ["getMe", "setWebhook"]


def test_reconnecting_keeps_the_webhook_secret(scoped, fake_telegram, bot):  # noqa: F811
    from tend.messaging.services.accounts import account_connect

    before = ChannelAccount.objects.get(pk=bot.pk).credentials["webhook_secret"]
    account_connect(tenant=scoped, actor=Actor.system(), account=bot,
                    base_url="http://testserver")
    assert ChannelAccount.objects.get(pk=bot.pk).credentials["webhook_secret"] == before
    assert fake_telegram.bot().secret_token == before


def test_an_unknown_token_is_an_error_on_the_token_field(scoped, fake_telegram):  # noqa: F811
    account = connect_bot(scoped, fake_telegram,
                          token="123456:AAunknownunknownunknownunknown")

    assert account.status == AccountStatus.ERROR
    assert account.last_error == "Telegram does not know this token."
    assert fake_telegram.bot().webhook_url == ""


def test_a_malformed_token_never_reaches_telegram(scoped, fake_telegram):  # noqa: F811
    account = connect_bot(scoped, fake_telegram, token="not a token")

    assert account.status == AccountStatus.ERROR
    assert "not a bot token" in account.last_error
    assert fake_telegram.requests() == []


def test_a_revoked_token_on_reconnect_is_a_token_field_error(scoped, fake_telegram):  # noqa: F811
    account = connect_bot(scoped, fake_telegram)
    fake_telegram.script(FakeTelegram.unauthorized(), op="getMe")
    with pytest.raises(tg.ConnectError) as exc:
        provider_for("TELEGRAM").connect(account, webhook_url="http://testserver/x/")
    assert list(exc.value.fields) == ["bot_token"]


def test_disable_deletes_the_webhook(scoped, fake_telegram, bot):  # noqa: F811
    account_disable(tenant=scoped, actor=Actor.system(), account=bot)

    assert ChannelAccount.objects.get(pk=bot.pk).status == AccountStatus.DISABLED
    assert fake_telegram.bot().webhook_url == ""


# -- the webhook ---------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "wrong-secret", ""])
def test_a_bad_or_missing_secret_is_refused_and_nothing_is_stored(scoped, fake_telegram, bot,  # noqa: F811
                                                                  client, secret):
    response = post_update(client, fake_telegram, fake_telegram.make_update("hello"),
                           secret=secret)

    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0
    assert Message.objects.count() == 0


def test_a_disabled_account_refuses_updates(scoped, fake_telegram, bot, client):  # noqa: F811
    update = fake_telegram.make_update("hello")
    call = fake_telegram.webhook_call(update)
    secret = call.headers["X-Telegram-Bot-Api-Secret-Token"]
    account_disable(tenant=scoped, actor=Actor.system(), account=bot)
    response = client.post(f"/hooks/messaging/{bot.webhook_key}/", data=call.body,
                           content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret)
    assert response.status_code == 403
    assert InboundEvent.objects.count() == 0


def test_a_body_that_is_not_an_update_is_a_400(scoped, fake_telegram, bot, client):  # noqa: F811
    secret = ChannelAccount.objects.get(pk=bot.pk).credentials["webhook_secret"]
    response = client.post(f"/hooks/messaging/{bot.webhook_key}/", data=b'{"hello": 1}',
                           content_type="application/json",
                           HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret)
    assert response.status_code == 400
    assert InboundEvent.objects.count() == 0


def test_a_message_becomes_a_contact_a_conversation_and_an_inbound_message(
        scoped, fake_telegram, bot, client):  # noqa: F811
    update = fake_telegram.make_update("Hello there", chat_id=555001, first_name="Amal",
                                       last_name="Saleh", language_code="ar")
    response = deliver(client, fake_telegram, update)

    assert response.status_code == 200
    assert response.json() == {"received": 1, "new": 1}
    event = InboundEvent.objects.get()
    assert (event.event_id, event.status) == (str(update["update_id"]), InboundStatus.PROCESSED)
    message = Message.objects.get()
    assert message.direction == MessageDirection.INBOUND
    assert message.body == "Hello there"
    assert message.to_address == "555001"
    contact = message.contact
    assert (contact.first_name, contact.last_name, contact.language) == ("Amal", "Saleh", "ar")
    assert IdentityAlias.objects.get(contact=contact).value == "555001"
    assert Conversation.objects.get().external_chat_id == "555001"


def test_the_same_update_delivered_100_times_makes_one_message(scoped, fake_telegram, bot,  # noqa: F811
                                                               client):
    update = fake_telegram.make_update("only once", chat_id=555002)
    answers = [deliver(client, fake_telegram, update).json()["new"] for _ in range(100)]

    assert answers == [1] + [0] * 99
    assert InboundEvent.objects.count() == 1
    assert Message.objects.count() == 1
    assert Contact.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_update_20_at_once_makes_one_message(tenant, fake_telegram):  # noqa: F811
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (SQLite has one writer)")
    with tenant_scope(tenant):
        bot = connect_bot(tenant, fake_telegram)
    update = fake_telegram.make_update("twenty at once", chat_id=555003)
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def hit() -> None:
        try:
            barrier.wait()
            for _ in range(5):
                statuses.append(post_update(Client(), fake_telegram, update).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 100
    with tenant_scope(tenant):
        assert InboundEvent.objects.filter(account=bot).count() == 1
        assert Message.objects.filter(account=bot).count() == 1
        assert Contact.objects.count() == 1


def test_edits_and_button_presses_are_parsed(scoped, fake_telegram, bot):  # noqa: F811
    provider = provider_for("TELEGRAM")
    update = fake_telegram.make_update("first", chat_id=555004)
    edited = {"update_id": update["update_id"] + 1,
              "edited_message": {**update["message"], "text": "first (edited)",
                                 "edit_date": 1_700_000_000}}
    [parsed] = provider.parse(bot, provider.split(bot, __import__("json").dumps(edited)
                                                  .encode())[0])
    assert parsed.text == "first (edited)"
    assert parsed.provider_message_id.endswith(":edit:1700000000")

    callback = fake_telegram.callback_update("opt:yes", chat_id=555004)
    item = provider.split(bot, __import__("json").dumps(callback).encode())[0]
    [pressed] = provider.parse(bot, item)
    assert (pressed.data, pressed.chat_id) == ("opt:yes", "555004")
    assert pressed.sender.identifiers == [{"type": "TELEGRAM", "value": "555004"}]


def test_a_blocked_bot_revokes_telegram_marketing_consent(scoped, fake_telegram, bot, client):  # noqa: F811
    deliver(client, fake_telegram, fake_telegram.make_update("hi", chat_id=555005))
    contact = Contact.objects.get()
    kicked = {"update_id": 999_001, "my_chat_member": {
        "chat": {"id": 555005, "type": "private", "first_name": "Amal"},
        "from": {"id": 555005, "is_bot": False, "first_name": "Amal"},
        "date": 1_700_000_100,
        "old_chat_member": {"status": "member", "user": {"id": 1, "is_bot": True}},
        "new_chat_member": {"status": "kicked", "user": {"id": 1, "is_bot": True},
                            "until_date": 0}}}
    assert deliver(client, fake_telegram, kicked).status_code == 200

    consent = Consent.objects.get(contact=contact, channel="TELEGRAM")
    assert consent.status == "REVOKED"
    assert contact.activities.filter(type="TELEGRAM_BOT_BLOCKED").count() == 1


# -- sending -------------------------------------------------------------------------------


def _send(bot, to="42", body="Hello", media=None):
    return provider_for("TELEGRAM").send(bot, OutgoingMessage(
        message_id="m-1", to=to, body=body, media=media or []))


def test_send_text_photo_and_document(scoped, fake_telegram, bot):  # noqa: F811
    result = _send(bot, to="42", body="Hello")
    assert result.provider_message_id == "42:1"
    _send(bot, to="42", body="Look", media=[{"type": "image",
                                              "url": "https://example.com/a.jpg"}])
    _send(bot, to="42", body="", media=[{"type": "document",
                                         "url": "https://example.com/a.pdf"}])
    sent = fake_telegram.messages_to(42)
    assert [(m.method, m.text) for m in sent] == [("sendMessage", "Hello"),
                                                  ("sendPhoto", "Look"), ("sendDocument", "")]


@pytest.mark.parametrize(("fault", "code", "permanent", "retry_after", "account_error"), [
    (FakeTelegram.rate_limited(7), "rate_limited", False, 7.0, False),
    (FakeTelegram.server_error(502), "http_502", False, None, False),
    (FakeTelegram.server_error(500, "Internal Server Error"), "http_500", False, None, False),
    (FakeTelegram.bot_blocked(), "blocked", True, None, False),
    (FakeTelegram.chat_not_found(), "chat_not_found", True, None, False),
    (FakeTelegram.unauthorized(), "unauthorized", True, None, True),
])
def test_send_errors_are_classified(scoped, fake_telegram, bot, fault, code, permanent,  # noqa: F811
                                    retry_after, account_error):
    fake_telegram.script(fault, op="sendMessage")
    with pytest.raises(SendError) as exc:
        _send(bot)
    error = exc.value
    assert (error.code, error.permanent, error.retry_after, error.account_error) == (
        code, permanent, retry_after, account_error)
    assert fake_telegram.token not in error.message


def test_a_timeout_is_transient(scoped, fake_telegram, bot, monkeypatch):  # noqa: F811
    monkeypatch.setattr(tg, "TIMEOUT", Timeout(read=0.3, connect=0.3))
    monkeypatch.setattr(tg, "_pool", ClientPool())
    fake_telegram.script(Delay(2.0), op="sendMessage")
    with pytest.raises(SendError) as exc:
        _send(bot)
    assert (exc.value.code, exc.value.permanent) == ("timeout", False)


def test_an_answer_too_large_is_refused_unread(scoped, bot):
    from tend.messaging.fakes import EndlessAnswer
    from tend.messaging.providers.transport import MAX_ANSWER_BYTES

    with EndlessAnswer() as endless:
        bot.settings = {**bot.settings, "api_base": endless.url}
        with pytest.raises(SendError) as exc:
            _send(bot)
    assert (exc.value.code, exc.value.permanent) == ("network", False)
    assert f"larger than {MAX_ANSWER_BYTES} bytes" in exc.value.message
    assert endless.sent < MAX_ANSWER_BYTES + 32 * 1024 * 1024


def test_real_blocked_and_missing_chats_are_permanent(scoped, fake_telegram, bot):  # noqa: F811
    fake_telegram.block(77)
    fake_telegram.forget(78)
    with pytest.raises(SendError) as blocked:
        _send(bot, to="77")
    with pytest.raises(SendError) as missing:
        _send(bot, to="78")
    assert (blocked.value.code, blocked.value.permanent) == ("blocked", True)
    assert (missing.value.code, missing.value.permanent) == ("chat_not_found", True)
