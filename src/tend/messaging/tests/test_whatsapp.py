"""The WhatsApp Cloud API provider against the fake Cloud API: connect, the GET verification,
signed webhooks, inbound messages and statuses, sends and error classification."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import AccountStatus, MessageDirection, MessageStatus
from tend.messaging.fakes import Drop, FakeWhatsApp
from tend.messaging.models import ChannelAccount, Conversation, InboundEvent, Message
from tend.messaging.providers import InboundItem, OutgoingMessage, SendError, provider_for
from tend.messaging.services.accounts import account_create
from tend.messaging.tests.webhook_helpers import processed
from tend.people.models import Contact, IdentityAlias

NUMBER = "971501234567"


@pytest.fixture
def wa():
    with FakeWhatsApp() as fake:
        yield fake


def _values(wa, **overrides):
    return {"phone_number_id": wa.phone_number_id, "api_base": wa.url,
            "access_token": wa.access_token, "app_secret": wa.app_secret,
            "verify_token": wa.verify_token, **overrides}


def _connect(tenant, wa, name="Support line", **overrides) -> ChannelAccount:
    with tenant_scope(tenant):
        return account_create(tenant=tenant, actor=Actor.system(), kind="WHATSAPP", name=name,
                              values=_values(wa, **overrides), base_url="https://crm.example")


@pytest.fixture
def account(tenant, wa):
    return _connect(tenant, wa)


def _hook(account) -> str:
    return f"/hooks/messaging/{account.webhook_key}/"


def _post(client, account, wa, payload, **kwargs):
    call = wa.webhook_call("http://testserver" + _hook(account), payload, **kwargs)
    extra = {}
    if "X-Hub-Signature-256" in call.headers:
        extra["HTTP_X_HUB_SIGNATURE_256"] = call.headers["X-Hub-Signature-256"]
    return client.post(_hook(account), data=call.body, content_type="application/json", **extra)


def _sent(tenant, account, wa, to=NUMBER, body="Your table is booked") -> Message:
    """An outbound message the outbox handed to WhatsApp (sent through the real client)."""
    result = provider_for("WHATSAPP").send(account, OutgoingMessage(
        message_id="m-1", to=f"+{to}", body=body))
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name="Amal")
        return Message.objects.create(
            tenant=tenant, contact=contact, account=account, channel="WHATSAPP",
            direction=MessageDirection.OUTBOUND, status=MessageStatus.SENT, to_address=to,
            body=body, provider_message_id=result.provider_message_id)


# -- connect ---------------------------------------------------------------------------------


def test_connecting_reads_the_phone_number(account, wa):
    assert account.status == AccountStatus.ACTIVE
    assert (account.settings["display_phone_number"], account.settings["verified_name"],
            account.settings["webhook_url"]) == (
        "15550783881", "Tend Test", f"https://crm.example{_hook(account)}")
    [read] = wa.requests("number")
    assert read.headers["authorization"] == f"Bearer {wa.access_token}"


def test_a_bad_token_leaves_the_account_in_error(tenant, wa):
    account = _connect(tenant, wa, access_token="EAAGnot-the-token")
    assert account.status == AccountStatus.ERROR
    assert account.last_error.startswith("WhatsApp refused the access token: "
                                         "Invalid OAuth access token")


def test_an_unknown_phone_number_id_is_named(tenant, wa):
    account = _connect(tenant, wa, phone_number_id="999")
    assert account.status == AccountStatus.ERROR
    assert account.last_error.startswith("WhatsApp does not know this phone number ID")


def test_a_business_account_id_subscribes_our_callback(tenant, wa):
    account = _connect(tenant, wa, business_account_id=wa.waba_id)
    assert account.status == AccountStatus.ACTIVE
    assert wa.subscription == {"override_callback_uri": f"https://crm.example{_hook(account)}",
                               "verify_token": wa.verify_token}


# -- the GET verification --------------------------------------------------------------------


def test_the_right_verify_token_echoes_the_challenge(account, wa):
    call = wa.verification_call("http://testserver" + _hook(account), challenge="1158201444")
    response = Client().get(call.url)
    assert (response.status_code, response.content, response["Content-Type"]) == (
        200, b"1158201444", "text/plain; charset=utf-8")


@pytest.mark.parametrize("change", [{"verify_token": "wrong"}, {"mode": "unsubscribe"}])
def test_a_wrong_verify_token_or_mode_is_refused(account, wa, change):
    call = wa.verification_call("http://testserver" + _hook(account), **change)
    response = Client().get(call.url)
    assert response.status_code == 403
    assert response.content != b"1158201444"


def test_an_unknown_key_is_refused(account, wa):
    call = wa.verification_call("http://testserver/hooks/messaging/nope/")
    assert Client().get(call.url).status_code == 403


# -- signatures ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"signature": None}, {"signature": "sha256=" + "0" * 64},
                                    {"secret": "another app's secret"},
                                    {"signature": "sha1=abc"}])
def test_a_bad_or_missing_signature_is_403_and_nothing_is_stored(tenant, account, wa, kwargs):
    response = _post(Client(), account, wa, wa.message_event(NUMBER, "hello"), **kwargs)
    assert response.status_code == 403
    with tenant_scope(tenant):
        assert (InboundEvent.objects.count(), Message.objects.count()) == (0, 0)


def test_a_signed_body_that_is_not_json_is_400(account, wa):
    body = b"not json"
    response = Client().post(_hook(account), data=body, content_type="application/json",
                             HTTP_X_HUB_SIGNATURE_256=wa.sign(body))
    assert response.status_code == 400


# -- inbound messages ------------------------------------------------------------------------


def test_an_inbound_message_makes_a_contact_a_conversation_and_a_message(
        tenant, account, wa, django_capture_on_commit_callbacks):
    payload = wa.message_event(NUMBER, "Is the pool open?", name="Amal Haddad",
                               timestamp=1_790_000_000)
    with processed(tenant, django_capture_on_commit_callbacks):
        response = _post(Client(), account, wa, payload)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 1, "new": 1}
    with tenant_scope(tenant):
        message = Message.objects.select_related("contact", "conversation").get()
        aliases = sorted(IdentityAlias.objects.filter(contact=message.contact)
                         .values_list("type", "value"))
        event = InboundEvent.objects.get()
    assert (message.direction, message.status, message.body, message.channel) == (
        "INBOUND", "RECEIVED", "Is the pool open?", "WHATSAPP")
    assert (message.contact.first_name, message.contact.last_name) == ("Amal", "Haddad")
    assert aliases == [("PHONE", "+971501234567"), ("WHATSAPP", "+971501234567")]
    assert message.conversation.external_chat_id == NUMBER
    assert message.conversation.last_inbound_at.timestamp() == 1_790_000_000
    assert (event.event_id, event.kind, event.status) == (
        payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"], "message", "PROCESSED")


def test_a_known_phone_number_finds_the_existing_contact(
        tenant, account, wa, django_capture_on_commit_callbacks):
    from tend.people.services.resolution import contact_resolve

    with tenant_scope(tenant):
        known = contact_resolve(tenant=tenant, actor=Actor.system(),
                                identifiers=[{"type": "PHONE", "value": "+971501234567"}],
                                defaults={"first_name": "Amal"}).contact
    with processed(tenant, django_capture_on_commit_callbacks):
        _post(Client(), account, wa, wa.message_event(NUMBER, "hi"))
    with tenant_scope(tenant):
        assert list(Message.objects.values_list("contact_id", flat=True)) == [known.pk]
        assert Contact.objects.count() == 1


def test_changes_of_another_phone_number_are_left_alone(tenant, account, wa):
    wa.add_number("222", "15550000002")
    response = _post(Client(), account, wa, wa.message_event(NUMBER, "hi",
                                                             phone_number_id="222"))
    assert response.json() == {"received": 0, "new": 0}


def _parse(account, message, contacts=()):
    return provider_for("WHATSAPP").parse(account, InboundItem(
        message["id"], "message", {"message": message, "contacts": list(contacts)}))


def test_button_replies_images_and_documents_are_understood(account):
    [button] = _parse(account, {
        "from": NUMBER, "id": "wamid.1", "timestamp": "1790000000", "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "yes-7", "title": "Yes"}}})
    [listed] = _parse(account, {
        "from": NUMBER, "id": "wamid.2", "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": "slot-3", "title": "3 pm"}}})
    [quick] = _parse(account, {"from": NUMBER, "id": "wamid.3", "type": "button",
                               "button": {"text": "Stop promotions", "payload": "STOP"}})
    [image] = _parse(account, {"from": NUMBER, "id": "wamid.4", "type": "image",
                               "image": {"id": "media-9", "mime_type": "image/jpeg",
                                         "sha256": "abc", "caption": "my receipt"}},
                     [{"wa_id": NUMBER, "profile": {"name": "Amal"}}])
    [document] = _parse(account, {"from": NUMBER, "id": "wamid.5", "type": "document",
                                  "document": {"id": "media-10", "filename": "id.pdf",
                                               "mime_type": "application/pdf"}})
    assert [(m.text, m.data) for m in (button, listed, quick)] == [
        ("Yes", "yes-7"), ("3 pm", "slot-3"), ("Stop promotions", "STOP")]
    assert button.sent_at.timestamp() == 1_790_000_000
    assert (image.text, image.media, image.sender.first_name, image.sender.last_name) == (
        "my receipt", [{"type": "image", "id": "media-9", "mime_type": "image/jpeg",
                        "sha256": "abc", "caption": "my receipt"}], "Amal", "")
    assert document.media == [{"type": "document", "id": "media-10",
                               "mime_type": "application/pdf", "filename": "id.pdf"}]


def test_reactions_and_unsupported_messages_are_ignored(account):
    assert _parse(account, {"from": NUMBER, "id": "wamid.6", "type": "reaction",
                            "reaction": {"message_id": "wamid.1", "emoji": "👍"}}) == []
    assert _parse(account, {"from": NUMBER, "id": "wamid.7", "type": "unsupported"}) == []


@pytest.mark.django_db(transaction=True)
def test_the_same_message_100_times_20_at_once_is_one_message(make_tenant, owner, wa):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # Shared-cache in-memory SQLite answers "table is locked" instead of waiting; the file
        # database Tend runs on (TEND_TEST_SQLITE_NAME) and PostgreSQL queue writers.
        pytest.skip("needs a database that queues concurrent writers")
    tenant = make_tenant("Race Club", slug="race", owner=owner)
    account = _connect(tenant, wa)
    payload = wa.message_event(NUMBER, "only once")
    barrier = threading.Barrier(20)

    def deliver(i):
        try:
            if i < 20:
                barrier.wait(timeout=10)
            return _post(Client(), account, wa, payload).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = list(pool.map(deliver, range(100)))

    assert codes == [200] * 100
    with tenant_scope(tenant):
        assert (InboundEvent.objects.count(), Message.objects.count(),
                Contact.objects.count(), Conversation.objects.count()) == (1, 1, 1, 1)
        assert InboundEvent.objects.get().status == "PROCESSED"


# -- statuses --------------------------------------------------------------------------------


def _status(client, account, wa, wamid, status, **kwargs):
    return _post(client, account, wa, wa.status_event(wamid, status, **kwargs))


def test_statuses_move_a_sent_message_to_delivered_then_read(
        tenant, account, wa, django_capture_on_commit_callbacks):
    message = _sent(tenant, account, wa)
    client = Client()
    with processed(tenant, django_capture_on_commit_callbacks):
        _status(client, account, wa, message.provider_message_id, "sent", timestamp=1_790_000_001)
        _status(client, account, wa, message.provider_message_id, "delivered",
                timestamp=1_790_000_002)
    with tenant_scope(tenant):
        message.refresh_from_db()
    assert (message.status, message.delivered_at.timestamp()) == ("DELIVERED", 1_790_000_002)
    with processed(tenant, django_capture_on_commit_callbacks):
        _status(client, account, wa, message.provider_message_id, "read", timestamp=1_790_000_003)
    with tenant_scope(tenant):
        message.refresh_from_db()
        events = sorted(InboundEvent.objects.values_list("event_id", flat=True))
    assert (message.status, message.read_at.timestamp()) == ("READ", 1_790_000_003)
    wamid = message.provider_message_id
    assert events == [f"{wamid}:delivered", f"{wamid}:read", f"{wamid}:sent"]


def test_statuses_out_of_order_never_go_backwards(
        tenant, account, wa, django_capture_on_commit_callbacks):
    message = _sent(tenant, account, wa)
    client = Client()
    with processed(tenant, django_capture_on_commit_callbacks):
        _status(client, account, wa, message.provider_message_id, "read", timestamp=1_790_000_003)
        _status(client, account, wa, message.provider_message_id, "delivered",
                timestamp=1_790_000_002)
        _status(client, account, wa, message.provider_message_id, "read", timestamp=1_790_000_003)
    with tenant_scope(tenant):
        message.refresh_from_db()
        assert InboundEvent.objects.count() == 2  # the repeated "read" is stored once
    assert message.status == "READ"
    assert message.read_at.timestamp() == 1_790_000_003


def test_a_failed_status_records_the_error(tenant, account, wa,
                                           django_capture_on_commit_callbacks):
    message = _sent(tenant, account, wa)
    with processed(tenant, django_capture_on_commit_callbacks):
        _status(Client(), account, wa, message.provider_message_id, "failed", error_code=131026)
    with tenant_scope(tenant):
        message.refresh_from_db()
    assert (message.status, message.error_code, message.error) == (
        "FAILED", "131026",
        "Message Undeliverable — Message could not be delivered to the recipient.")


# -- sending ---------------------------------------------------------------------------------


def test_text_goes_out_as_a_text_message(account, wa):
    result = provider_for("WHATSAPP").send(account, OutgoingMessage(
        message_id="m-1", to="+971501234567", body="See you at 6"))
    [sent] = wa.messages_to(NUMBER)
    assert (result.provider_message_id, result.status) == (sent.id, "SENT")
    assert sent.payload == {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": NUMBER, "type": "text",
                            "text": {"body": "See you at 6", "preview_url": False}}


def test_a_template_goes_out_with_its_parameters_in_order(account, wa):
    wa.add_template("booking_reminder", "ar", body_params=2)
    provider_for("WHATSAPP").send(account, OutgoingMessage(
        message_id="m-1", to=NUMBER, body="rendered text is not sent",
        template={"name": "booking_reminder", "language": "ar",
                  "variables": {"event.time": "18:00", "contact.first_name": "أمل"},
                  "order": ["contact.first_name", "event.time"]}))
    [sent] = wa.messages_to(NUMBER)
    assert sent.payload["type"] == "template"
    assert sent.payload["template"] == {
        "name": "booking_reminder", "language": {"code": "ar"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "أمل"}, {"type": "text", "text": "18:00"}]}]}


def test_a_template_outside_the_window_reaches_a_closed_window(account, wa):
    wa.close_window(NUMBER)
    provider = provider_for("WHATSAPP")
    with pytest.raises(SendError) as text_error:
        provider.send(account, OutgoingMessage(message_id="m-1", to=NUMBER, body="hello?"))
    result = provider.send(account, OutgoingMessage(
        message_id="m-2", to=NUMBER, template={"name": "hello_world", "language": "en_US"}))
    assert text_error.value.code == "outside_window"
    assert result.provider_message_id.startswith("wamid.")


def test_an_image_goes_out_by_link_with_its_caption(account, wa):
    provider_for("WHATSAPP").send(account, OutgoingMessage(
        message_id="m-1", to=NUMBER, body="Your ticket",
        media=[{"type": "image", "link": "https://cdn.example/t.png"}]))
    [sent] = wa.messages_to(NUMBER)
    assert (sent.type, sent.payload["image"]) == (
        "image", {"link": "https://cdn.example/t.png", "caption": "Your ticket"})


def _error(account, wa, fault=None, *, setup=None):
    if setup is not None:
        setup()
    if fault is not None:
        wa.script(fault, op="messages")
    with pytest.raises(SendError) as caught:
        provider_for("WHATSAPP").send(account, OutgoingMessage(
            message_id="m-1", to=NUMBER, body="hi"))
    error = caught.value
    return (error.code, error.permanent, error.retry_after, error.account_error)


def test_send_errors_are_classified(account, wa):
    assert _error(account, wa, setup=lambda: wa.close_window(NUMBER)) == (
        "outside_window", True, None, False)
    wa.open_window(NUMBER)
    assert _error(account, wa, FakeWhatsApp.undeliverable_error()) == (
        "bad_number", True, None, False)
    assert _error(account, wa, FakeWhatsApp.error(131021)) == ("bad_number", True, None, False)
    assert _error(account, wa, FakeWhatsApp.rate_limited()) == (
        "rate_limited", False, 5.0, False)
    assert _error(account, wa, FakeWhatsApp.rate_limited(status=400)) == (
        "rate_limited", False, 5.0, False)
    assert _error(account, wa, FakeWhatsApp.error(
        80007, status=400, headers=(("Retry-After", "12"),))) == (
        "rate_limited", False, 12.0, False)
    assert _error(account, wa, FakeWhatsApp.bad_token()) == ("auth_failed", True, None, True)
    assert _error(account, wa, FakeWhatsApp.server_error(500)) == (
        "unavailable", False, None, False)
    assert _error(account, wa, FakeWhatsApp.server_error(503)) == (
        "unavailable", False, None, False)
    assert _error(account, wa, Drop()) == ("network", False, None, False)
    assert _error(account, wa, FakeWhatsApp.error(100)) == (
        "whatsapp_100", True, None, False)


def test_a_missing_template_is_permanent(account, wa):
    wa.add_template("known", "en")
    with pytest.raises(SendError) as caught:
        provider_for("WHATSAPP").send(account, OutgoingMessage(
            message_id="m-1", to=NUMBER, template={"name": "unknown", "language": "en"}))
    assert (caught.value.code, caught.value.permanent) == ("whatsapp_132001", True)
