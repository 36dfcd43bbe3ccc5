"""The Twilio-compatible SMS provider against the fake SMS API: connect, sends, signed status
callbacks and incoming SMS, error classification."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from django.test import Client

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import AccountStatus, MessageDirection, MessageStatus
from tend.messaging.fakes import Drop
from tend.messaging.fakes.sms import FakeSMS, twilio_signature
from tend.messaging.models import ChannelAccount, InboundEvent, Message
from tend.messaging.providers import OutgoingMessage, SendError, provider_for
from tend.messaging.services.accounts import account_create
from tend.messaging.tests.webhook_helpers import processed
from tend.people.models import Contact, IdentityAlias

TO = "+971501234567"
FROM = "+15005550006"


@pytest.fixture
def sms():
    with FakeSMS() as fake:
        yield fake


def _connect(tenant, sms, **overrides) -> ChannelAccount:
    values = {"account_sid": sms.account_sid, "from_number": FROM, "api_base": sms.url,
              "auth_token": sms.auth_token, **overrides}
    with tenant_scope(tenant):
        return account_create(tenant=tenant, actor=Actor.system(), kind="SMS", name="Texts",
                              values=values, base_url="https://crm.example")


@pytest.fixture
def account(tenant, sms):
    return _connect(tenant, sms)


def _post(call):
    """Post a fake-built callback through Django at the path (and query) it was signed for."""
    parts = urlsplit(call.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    extra = {"HTTP_X_TWILIO_SIGNATURE": call.headers["X-Twilio-Signature"]} if (
        "X-Twilio-Signature" in call.headers) else {}
    return Client().post(path, data=call.body, content_type="application/x-www-form-urlencoded",
                         **extra)


def _send(account, **kwargs):
    return provider_for("SMS").send(account, OutgoingMessage(
        **{"message_id": "m-1", "to": TO, "body": "Your code is 4711", **kwargs}))


def _outbound(tenant, account, sid) -> Message:
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name="Omar")
        return Message.objects.create(
            tenant=tenant, contact=contact, account=account, channel="SMS",
            direction=MessageDirection.OUTBOUND, status=MessageStatus.SENT, to_address=TO,
            body="Your code is 4711", provider_message_id=sid)


def test_connecting_reads_the_account(account, sms):
    assert account.status == AccountStatus.ACTIVE
    assert account.settings["friendly_name"] == "Tend test account"


def test_a_bad_auth_token_leaves_the_account_in_error(tenant, sms):
    account = _connect(tenant, sms, auth_token="wrong")
    assert (account.status, account.last_error) == (
        AccountStatus.ERROR, "The SMS API refused the account SID and auth token.")


def test_a_send_posts_the_twilio_form_with_basic_auth(account, sms):
    result = _send(account)
    [sent] = sms.messages_to(TO)
    assert result.provider_message_id == sent.sid
    assert sent.params == {"To": TO, "From": FROM, "Body": "Your code is 4711",
                           "StatusCallback": f"{account.settings['webhook_url']}?message=m-1"}


def test_the_outbox_callback_url_is_used_when_given(account, sms):
    _send(account, status_callback_url="https://crm.example/hooks/messaging/x/")
    assert sms.sent[0].status_callback == "https://crm.example/hooks/messaging/x/"


def test_signed_status_callbacks_move_the_message(tenant, account, sms,
                                                  django_capture_on_commit_callbacks):
    sid = _send(account).provider_message_id
    message = _outbound(tenant, account, sid)
    with processed(tenant, django_capture_on_commit_callbacks):
        assert _post(sms.status_call(sid, "sent")).status_code == 200
        assert _post(sms.status_call(sid, "delivered")).status_code == 200
        assert _post(sms.status_call(sid, "delivered")).status_code == 200
    with tenant_scope(tenant):
        message.refresh_from_db()
        events = sorted(InboundEvent.objects.values_list("event_id", flat=True))
    assert message.status == "DELIVERED"
    assert events == [f"{sid}:delivered", f"{sid}:sent"]


def test_an_undelivered_callback_fails_the_message(tenant, account, sms,
                                                   django_capture_on_commit_callbacks):
    sid = _send(account).provider_message_id
    message = _outbound(tenant, account, sid)
    with processed(tenant, django_capture_on_commit_callbacks):
        _post(sms.status_call(sid, "undelivered", error_code=30003))
    with tenant_scope(tenant):
        message.refresh_from_db()
    assert (message.status, message.error_code) == ("FAILED", "30003")


@pytest.mark.parametrize("kwargs", [{"signature": None}, {"signature": "bm9wZQ=="},
                                    {"auth_token": "another token"}])
def test_a_bad_or_missing_signature_is_403_and_nothing_is_stored(tenant, account, sms, kwargs):
    sid = _send(account).provider_message_id
    assert _post(sms.status_call(sid, "delivered", **kwargs)).status_code == 403
    with tenant_scope(tenant):
        assert InboundEvent.objects.count() == 0


def test_a_signature_for_another_url_is_refused(tenant, account, sms):
    sid = _send(account).provider_message_id
    call = sms.status_call(sid, "delivered")
    forged = sms.status_call(sid, "delivered", url="https://elsewhere.example/hook")
    call.headers["X-Twilio-Signature"] = forged.headers["X-Twilio-Signature"]
    assert _post(call).status_code == 403


def test_an_incoming_sms_becomes_an_inbound_message(tenant, account, sms,
                                                    django_capture_on_commit_callbacks):
    url = account.settings["webhook_url"]
    params = {"AccountSid": sms.account_sid, "MessageSid": "SMin1", "SmsSid": "SMin1",
              "SmsStatus": "received", "From": TO, "To": FROM, "Body": "STOP? no, what time?",
              "NumMedia": "0"}
    body = urlencode(params)
    with processed(tenant, django_capture_on_commit_callbacks):
        response = Client().post(urlsplit(url).path, data=body.encode(),
                                 content_type="application/x-www-form-urlencoded",
                                 HTTP_X_TWILIO_SIGNATURE=twilio_signature(url, params,
                                                                          sms.auth_token))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/xml"
    assert response.content == (b'<?xml version="1.0" encoding="UTF-8"?>'
                                b"<Response></Response>")
    with tenant_scope(tenant):
        message = Message.objects.get()
        aliases = list(IdentityAlias.objects.filter(contact=message.contact)
                       .values_list("type", "value"))
    assert (message.direction, message.body, message.provider_message_id) == (
        "INBOUND", "STOP? no, what time?", "SMin1")
    assert aliases == [("PHONE", TO)]


def _error(account, sms, fault):
    sms.script(fault, op="messages")
    with pytest.raises(SendError) as caught:
        _send(account)
    error = caught.value
    return (error.code, error.permanent, error.retry_after, error.account_error)


def test_send_errors_are_classified(account, sms):
    assert _error(account, sms, FakeSMS.invalid_to(TO)) == ("bad_number", True, None, False)
    assert _error(account, sms, FakeSMS.error(21614, "not a mobile number")) == (
        "bad_number", True, None, False)
    assert _error(account, sms, FakeSMS.rate_limited(7)) == ("rate_limited", False, 7.0, False)
    assert _error(account, sms, FakeSMS.error(20429, "Too Many Requests", 429)) == (
        "rate_limited", False, 1.0, False)
    assert _error(account, sms, FakeSMS.unauthorized()) == ("auth_failed", True, None, True)
    assert _error(account, sms, FakeSMS.server_error(503)) == ("unavailable", False, None, False)
    assert _error(account, sms, Drop()) == ("network", False, None, False)


def test_the_fakes_own_refusals_are_classified(account, sms):
    sms.mark_unsubscribed(TO)
    with pytest.raises(SendError) as caught:
        _send(account)
    assert (caught.value.code, caught.value.permanent) == ("bad_number", True)
