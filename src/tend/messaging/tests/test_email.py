"""The email provider against a real SMTP server (the aiosmtpd fake): connect, sends with
Message-ID and the RFC 8058 unsubscribe headers, bounces; the one-click unsubscribe page;
anymail configuration and tracking webhooks."""

from __future__ import annotations

import base64
import json
import re

import pytest
from django.core import signing
from django.test import Client

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import AccountStatus, MessageDirection, MessagePurpose, MessageStatus
from tend.messaging.fakes.smtp import FakeSMTP
from tend.messaging.models import ChannelAccount, InboundEvent, Message
from tend.messaging.providers import OutgoingMessage, SendError, provider_for
from tend.messaging.providers.email import close_sessions, connection_for
from tend.messaging.services.accounts import account_create
from tend.messaging.services.unsubscribe import unsubscribe_token
from tend.messaging.tests.webhook_helpers import processed
from tend.people.models import Consent, Contact
from tend.people.services.consent import consent_set

TO = "amal@example.com"


@pytest.fixture
def smtp():
    with FakeSMTP(auth=("mailer", "s3cret")) as fake:
        yield fake
        close_sessions()  # this thread's cached SMTP sessions, before the server stops


def _create(tenant, name="Newsletter", **values) -> ChannelAccount:
    with tenant_scope(tenant):
        return account_create(tenant=tenant, actor=Actor.system(), kind="EMAIL", name=name,
                              values=values, base_url="https://crm.example")


def _smtp_values(smtp, **overrides):
    return {"from_email": "Acme Club <hello@acme.example>", "host": smtp.host,
            "port": str(smtp.port), "security": "none", "username": "mailer",
            "password": "s3cret", "unsubscribe_email": "unsubscribe@acme.example",
            **overrides}


@pytest.fixture
def account(tenant, smtp):
    return _create(tenant, **_smtp_values(smtp))


@pytest.fixture
def contact(tenant):
    with tenant_scope(tenant):
        contact = Contact.objects.create(tenant=tenant, first_name="Amal", primary_email=TO)
        consent_set(tenant=tenant, actor=Actor.system(), contact=contact, channel="EMAIL",
                    status="GRANTED", source="signup form")
        contact.refresh_from_db()
    return contact


def _queued(tenant, account, contact, purpose=MessagePurpose.MARKETING) -> Message:
    with tenant_scope(tenant):
        return Message.objects.create(
            tenant=tenant, contact=contact, account=account, channel="EMAIL",
            direction=MessageDirection.OUTBOUND, purpose=purpose, status=MessageStatus.SENDING,
            to_address=TO, subject="Spring tournament", body="Join us on Saturday.")


def _send(account, message: Message, **kwargs):
    return provider_for("EMAIL").send(account, OutgoingMessage(
        message_id=str(message.pk), to=message.to_address, subject=message.subject,
        body=message.body, purpose=message.purpose, **kwargs))


# -- connect ---------------------------------------------------------------------------------


def test_connecting_signs_in_to_the_smtp_server(account):
    assert account.status == AccountStatus.ACTIVE
    assert account.settings["from_domain"] == "acme.example"


def test_a_wrong_password_is_named(tenant, smtp):
    account = _create(tenant, **_smtp_values(smtp, password="wrong"))
    assert (account.status, account.last_error) == (
        AccountStatus.ERROR, "The SMTP server refused the user name and password.")


def test_an_unreachable_server_is_named(tenant, smtp):
    account = _create(tenant, **_smtp_values(smtp, port="1"))
    assert account.status == AccountStatus.ERROR
    assert account.last_error.startswith("Could not reach the SMTP server")


@pytest.mark.parametrize(("values", "error"), [
    ({"from_email": "no address"}, "Enter a valid email address."),
    ({"security": "tls13"}, "Use starttls, ssl or none."),
    ({"backend": "pigeon"}, "Use smtp or one of: brevo, mailgun, postmark, sendgrid, sparkpost."),
    ({"backend": "postmark"}, "Enter the provider's API key."),
])
def test_bad_settings_are_named(tenant, smtp, values, error):
    account = _create(tenant, **_smtp_values(smtp, **values))
    assert (account.status, account.last_error) == (AccountStatus.ERROR, error)


# -- sending ---------------------------------------------------------------------------------


def test_a_transactional_mail_goes_out_without_unsubscribe_headers(tenant, account, contact,
                                                                     smtp):
    message = _queued(tenant, account, contact, purpose=MessagePurpose.TRANSACTIONAL)
    result = _send(account, message, html="<p>Join us on <b>Saturday</b>.</p>")
    [mail] = smtp.messages_to(TO)
    assert (mail.mail_from, mail.rcpt_tos, mail.subject) == (
        "hello@acme.example", (TO,), "Spring tournament")
    assert result.provider_message_id == mail.message["Message-ID"]
    assert re.fullmatch(r"<[^@>]+@acme\.example>", result.provider_message_id)
    assert (mail.text().strip(), mail.html()) == (
        "Join us on Saturday.", "<p>Join us on <b>Saturday</b>.</p>")
    assert mail.message["List-Unsubscribe"] is None


def test_marketing_mail_carries_one_click_unsubscribe_headers(tenant, account, contact, smtp):
    message = _queued(tenant, account, contact)
    _send(account, message)
    [mail] = smtp.messages_to(TO)
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    # (a long header is folded: the value starts after the fold)
    assert mail.message["List-Unsubscribe"].strip() == (
        f"<https://crm.example/u/{token}/>, "
        "<mailto:unsubscribe@acme.example?subject=unsubscribe>")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_headers_the_outbox_passes_are_kept(tenant, account, contact, smtp):
    message = _queued(tenant, account, contact)
    _send(account, message, headers={"List-Unsubscribe": "<https://campaigns.example/u/9>"})
    [mail] = smtp.messages_to(TO)
    assert (mail.message["List-Unsubscribe"], mail.message["List-Unsubscribe-Post"]) == (
        "<https://campaigns.example/u/9>", "List-Unsubscribe=One-Click")


def _error(account, message):
    with pytest.raises(SendError) as caught:
        _send(account, message)
    error = caught.value
    return (error.code, error.permanent, error.account_error)


def test_a_550_at_rcpt_is_a_permanent_bounce(tenant, account, contact, smtp):
    smtp.reject(TO, code=550)
    assert _error(account, _queued(tenant, account, contact)) == ("bounced", True, False)
    assert smtp.messages == []


def test_a_451_at_rcpt_is_tried_again(tenant, account, contact, smtp):
    smtp.reject(TO, code=451)
    assert _error(account, _queued(tenant, account, contact)) == ("deferred", False, False)


def test_refusals_at_data_are_classified(tenant, account, contact, smtp):
    smtp.script_data("554 5.7.1 Message rejected as spam", "451 4.3.0 Try again later")
    message = _queued(tenant, account, contact)
    assert _error(account, message) == ("rejected", True, False)
    assert _error(account, message) == ("deferred", False, False)


def test_a_changed_password_is_an_account_error(tenant, account, contact, smtp):
    smtp.auth = ("mailer", "rotated")
    assert _error(account, _queued(tenant, account, contact)) == ("auth_failed", True, True)


def test_a_server_gone_away_is_tried_again(tenant, account, contact, smtp):
    smtp.stop()
    assert _error(account, _queued(tenant, account, contact)) == ("network", False, False)


def _open_session(account):
    from tend.messaging.providers import email

    found = email._sessions.cache.get(email._session_key(account))
    return found[0].connection if found else None


def test_one_smtp_session_serves_many_messages_of_a_thread(tenant, account, contact, smtp):
    message = _queued(tenant, account, contact, purpose=MessagePurpose.TRANSACTIONAL)
    _send(account, message)
    first = _open_session(account)
    smtp.reject(TO, code=550)
    with pytest.raises(SendError):
        _send(account, message)  # a bounce leaves the session usable
    smtp.rejections.clear()
    _send(account, message)
    assert first is not None and _open_session(account) is first
    assert len(smtp.messages_to(TO)) == 2


def test_a_session_the_server_dropped_is_replaced(tenant, account, contact, smtp, monkeypatch):
    from tend.messaging.providers import email

    message = _queued(tenant, account, contact, purpose=MessagePurpose.TRANSACTIONAL)
    _send(account, message)
    first = _open_session(account)
    first.close()  # the connection died while the session was idle
    monkeypatch.setattr(email, "SESSION_IDLE_SECONDS", 0.0)
    _send(account, message)
    assert _open_session(account) is not first
    assert len(smtp.messages_to(TO)) == 2


# -- the unsubscribe page --------------------------------------------------------------------


def _email_consent(tenant, contact):
    with tenant_scope(tenant):
        contact.refresh_from_db()
        consent = Consent.objects.get(contact=contact, channel="EMAIL", purpose="MARKETING")
    return consent.status, consent.source, contact.email_opt_in


def test_the_page_asks_first_and_a_get_changes_nothing(tenant, contact):
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    response = Client().get(f"/u/{token}/")
    assert response.status_code == 200
    assert b'data-state="confirm"' in response.content
    assert b"Acme Club" in response.content
    assert _email_consent(tenant, contact) == ("GRANTED", "signup form", True)


def test_the_button_revokes_email_marketing_consent(tenant, contact):
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    response = Client(enforce_csrf_checks=True).post(f"/u/{token}/")
    assert response.status_code == 200
    assert b'data-state="done"' in response.content
    assert _email_consent(tenant, contact) == ("REVOKED", "unsubscribe link", False)
    assert b'data-state="done"' in Client().get(f"/u/{token}/").content


def test_a_mail_clients_one_click_post_revokes_it_too(tenant, account, contact, smtp):
    _send(account, _queued(tenant, account, contact))
    header = smtp.messages_to(TO)[0].message["List-Unsubscribe"]
    url = re.search(r"<https://crm\.example(/u/[^>]+)>", header).group(1)
    response = Client(enforce_csrf_checks=True).post(
        url, data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert _email_consent(tenant, contact)[0] == "REVOKED"
    with tenant_scope(tenant):  # only marketing: nothing else was touched
        assert Consent.objects.filter(contact=contact).count() == 1


@pytest.mark.parametrize("token", [
    "nonsense", "", "a" * 300,
    signing.Signer(salt="another salt").sign_object({"t": "x", "c": "y"}),
    signing.Signer(salt="tend.messaging.unsubscribe").sign_object(
        {"t": "not-a-uuid", "c": "not-a-uuid"}),
    signing.Signer(salt="tend.messaging.unsubscribe").sign_object(["t", "c"]),
    signing.dumps({"t": "x", "c": "y"}, salt="tend.messaging.unsubscribe"),
], ids=["nonsense", "empty", "long", "other-salt", "not-uuids", "a-list", "timestamped"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_token_is_404_and_never_500(tenant, contact, token, method):
    response = getattr(Client(), method)(f"/u/{token}/" if token else "/u//")
    assert response.status_code == 404
    assert _email_consent(tenant, contact)[0] == "GRANTED"


def test_an_altered_token_is_404(tenant, contact):
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    altered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert Client().post(f"/u/{altered}/").status_code == 404
    assert _email_consent(tenant, contact)[0] == "GRANTED"


def test_a_token_of_another_organization_does_not_reach_this_one(tenant, make_tenant, contact):
    other = make_tenant("Other Club", slug="other")
    token = unsubscribe_token(tenant_id=other.pk, contact_id=contact.pk)
    assert Client().post(f"/u/{token}/").status_code == 404
    assert _email_consent(tenant, contact)[0] == "GRANTED"


def test_a_deleted_contact_is_404(tenant, contact):
    from django.utils import timezone

    with tenant_scope(tenant):
        Contact.objects.filter(pk=contact.pk).update(deleted_at=timezone.now())
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    assert Client().post(f"/u/{token}/").status_code == 404


# -- anymail ---------------------------------------------------------------------------------


def test_an_anymail_backend_is_configured_from_the_account(tenant, smtp):
    account = _create(tenant, name="Postmark", from_email="hello@acme.example",
                      backend="postmark", api_key="pm-server-token",
                      api_url="https://api.postmark.example/")
    backend = connection_for(account)
    assert account.status == AccountStatus.ACTIVE
    assert (type(backend).__module__, backend.server_token, backend.api_url) == (
        "anymail.backends.postmark", "pm-server-token", "https://api.postmark.example/")
    mailgun = _create(tenant, name="Mailgun", from_email="hello@acme.example",
                      backend="mailgun", api_key="key-1", sender_domain="mg.acme.example")
    assert (connection_for(mailgun).api_key, connection_for(mailgun).sender_domain) == (
        "key-1", "mg.acme.example")


@pytest.fixture
def postmark(tenant):
    return _create(tenant, name="Postmark", from_email="hello@acme.example",
                   backend="postmark", api_key="pm-server-token",
                   webhook_secret="hooks:correct-horse")


def _track(account, event, auth="hooks:correct-horse"):
    extra = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(auth.encode()).decode()} if (
        auth) else {}
    return Client().post(f"/hooks/messaging/{account.webhook_key}/", data=json.dumps(event),
                         content_type="application/json", **extra)


def _tracked(tenant, account, contact, esp_id="pm-0001") -> Message:
    with tenant_scope(tenant):
        return Message.objects.create(
            tenant=tenant, contact=contact, account=account, channel="EMAIL",
            direction=MessageDirection.OUTBOUND, purpose=MessagePurpose.MARKETING,
            status=MessageStatus.SENT, to_address=TO, provider_message_id=esp_id)


DELIVERY = {"RecordType": "Delivery", "MessageID": "pm-0001", "Recipient": TO,
            "DeliveredAt": "2026-11-20T16:33:54.9070259Z", "Details": "smtp;250 2.0.0 OK",
            "Tag": "", "ServerID": 23, "Metadata": {}, "MessageStream": "broadcast"}
BOUNCE = {"RecordType": "Bounce", "ID": 4323372036854775807, "Type": "HardBounce",
          "TypeCode": 1, "MessageID": "pm-0001", "Description": "Unknown user.",
          "Details": "smtp;550 5.1.1 user unknown", "Email": TO,
          "BouncedAt": "2026-11-20T16:34:54Z", "Inactive": True}
COMPLAINT = {"RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint",
             "MessageID": "pm-0001", "Email": TO, "BouncedAt": "2026-11-20T17:00:00Z"}


@pytest.mark.parametrize("auth", [None, "hooks:wrong", "other:correct-horse"])
def test_tracking_webhooks_need_the_basic_auth(tenant, postmark, auth):
    assert _track(postmark, DELIVERY, auth=auth).status_code == 403
    with tenant_scope(tenant):
        assert InboundEvent.objects.count() == 0


def test_an_smtp_account_takes_no_webhooks(tenant, account):
    assert _track(account, DELIVERY).status_code == 403


def test_a_delivery_then_a_bounce_are_recorded(tenant, postmark, contact,
                                               django_capture_on_commit_callbacks):
    message = _tracked(tenant, postmark, contact)
    with processed(tenant, django_capture_on_commit_callbacks):
        assert _track(postmark, DELIVERY).json() == {"received": 1, "new": 1}
        assert _track(postmark, DELIVERY).json() == {"received": 1, "new": 0}
    with tenant_scope(tenant):
        message.refresh_from_db()
    assert message.status == "DELIVERED"
    with processed(tenant, django_capture_on_commit_callbacks):
        _track(postmark, BOUNCE)
    with tenant_scope(tenant):
        message.refresh_from_db()
    # A bounce after delivery keeps the delivery and records the error.
    assert (message.status, message.error_code, message.error) == (
        "DELIVERED", "bounced", "Unknown user. smtp;550 5.1.1 user unknown")


def test_a_bounce_marks_the_message_bounced(tenant, postmark, contact,
                                           django_capture_on_commit_callbacks):
    message = _tracked(tenant, postmark, contact)
    with processed(tenant, django_capture_on_commit_callbacks):
        _track(postmark, BOUNCE)
    with tenant_scope(tenant):
        message.refresh_from_db()
    assert (message.status, message.error_code) == ("BOUNCED", "bounced")


def test_a_spam_complaint_revokes_email_marketing_consent(tenant, postmark, contact,
                                                         django_capture_on_commit_callbacks):
    _tracked(tenant, postmark, contact)
    with processed(tenant, django_capture_on_commit_callbacks):
        assert _track(postmark, COMPLAINT).status_code == 200
    assert _email_consent(tenant, contact) == ("REVOKED", "email complained", False)
    with tenant_scope(tenant):
        assert InboundEvent.objects.get().status == "PROCESSED"


def test_a_body_anymail_cannot_read_is_400(postmark):
    response = _track(postmark, {"FromFull": {"Email": TO}})  # an inbound, not tracking, event
    assert response.status_code == 400


def test_a_merged_away_contacts_link_acts_for_the_survivor(tenant, contact):
    with tenant_scope(tenant):
        survivor = Contact.objects.create(tenant=tenant, first_name="Amal",
                                          primary_email=TO)
        consent_set(tenant=tenant, actor=Actor.system(), contact=survivor, channel="EMAIL",
                    status="GRANTED", source="signup form")
        Contact.objects.filter(pk=contact.pk).update(status="MERGED", merged_into=survivor)
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    assert Client().post(f"/u/{token}/").status_code == 200
    assert _email_consent(tenant, survivor)[0] == "REVOKED"


def test_an_inactive_organization_is_404(tenant, contact):
    from tend.core.models import Tenant

    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    assert Client().get(f"/u/{token}/").status_code == 404


def _mailgun_event(key: str) -> dict:
    import hashlib
    import hmac

    timestamp, token = "1763650000", "tok-1"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": {"event": "delivered", "timestamp": 1763650000.5, "id": "ev-1",
                           "recipient": TO, "delivery-status": {"message": "OK"},
                           "message": {"headers": {"message-id": "20261120.1@mg.acme.example"}}}}


def test_mailgun_webhooks_need_basic_auth_and_mailguns_signature(
        tenant, contact, django_capture_on_commit_callbacks):
    mailgun = _create(tenant, name="Mailgun", from_email="hello@acme.example", backend="mailgun",
                      api_key="key-1", sender_domain="mg.acme.example",
                      webhook_secret="hooks:correct-horse", webhook_signing_key="mg-signing")
    message = _tracked(tenant, mailgun, contact, esp_id="<20261120.1@mg.acme.example>")
    assert _track(mailgun, _mailgun_event("key-1")).status_code == 403
    assert _track(mailgun, _mailgun_event("mg-signing"), auth=None).status_code == 403
    with processed(tenant, django_capture_on_commit_callbacks):
        assert _track(mailgun, _mailgun_event("mg-signing")).status_code == 200
    with tenant_scope(tenant):
        message.refresh_from_db()
        assert InboundEvent.objects.get().event_id == "tok-1"
    assert message.status == "DELIVERED"
