"""The outbox worker sending through the real email, in-app and WhatsApp providers: marketing
mail with the unsubscribe headers, a bounce recorded as BOUNCED, in-app messages delivered at
once, a WhatsApp template outside the 24-hour window with its parameters in order."""

from __future__ import annotations

import pytest

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.fakes import FakeWhatsApp
from tend.messaging.fakes.smtp import FakeSMTP
from tend.messaging.models import ChannelAccount, Message, Template
from tend.messaging.outbox.worker import OutboxWorker
from tend.messaging.providers.email import close_sessions
from tend.messaging.services.outbox import message_enqueue
from tend.messaging.services.unsubscribe import unsubscribe_token
from tend.people.services.consent import consent_set
from tend.people.services.resolution import contact_resolve

TO = "amal@example.com"


@pytest.fixture
def smtp():
    with FakeSMTP() as fake:
        yield fake
        close_sessions()


def _account(tenant, kind, settings, secrets=None) -> ChannelAccount:
    with tenant_scope(tenant):
        account = ChannelAccount(tenant=tenant, kind=kind, name=kind.title(), status="ACTIVE",
                                 settings=settings, is_default=True)
        account.set_credentials(secrets or {})
        account.save()
    return account


def _person(tenant, identifiers, consent=None):
    with tenant_scope(tenant):
        contact = contact_resolve(tenant=tenant, actor=Actor.system(), identifiers=identifiers,
                                  defaults={"first_name": "Amal"}).contact
        if consent:
            consent_set(tenant=tenant, actor=Actor.system(), contact=contact, channel=consent,
                        status="GRANTED", source="signup form")
    return contact


def _queue(tenant, contact, channel, **kwargs) -> Message:
    with tenant_scope(tenant):
        message, _ = message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                                     channel=channel, **kwargs)
    return message


def _run_outbox(tenant, message) -> Message:
    OutboxWorker(worker_id="w-test").run_until_idle(timeout=30)
    with tenant_scope(tenant):
        return Message.objects.get(pk=message.pk)


@pytest.fixture
def mailbox(tenant, smtp):
    return _account(tenant, "EMAIL", {
        "from_email": "Acme Club <hello@acme.example>", "host": smtp.host,
        "port": str(smtp.port), "security": "none",
        "webhook_url": "https://crm.example/hooks/messaging/k/"})


def test_marketing_mail_goes_out_with_the_unsubscribe_link(tenant, mailbox, smtp):
    contact = _person(tenant, [{"type": "EMAIL", "value": TO}], consent="EMAIL")
    message = _queue(tenant, contact, "EMAIL", subject="Spring tournament",
                     body="Join us on Saturday.", purpose="MARKETING")
    message = _run_outbox(tenant, message)
    [mail] = smtp.messages_to(TO)
    token = unsubscribe_token(tenant_id=tenant.pk, contact_id=contact.pk)
    assert (message.status, message.provider_message_id) == ("SENT", mail.message["Message-ID"])
    assert mail.message["List-Unsubscribe"].strip() == f"<https://crm.example/u/{token}/>"
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_refused_recipient_is_recorded_as_bounced(tenant, mailbox, smtp):
    contact = _person(tenant, [{"type": "EMAIL", "value": TO}])
    smtp.reject(TO, code=550)
    message = _run_outbox(tenant, _queue(tenant, contact, "EMAIL", subject="Receipt",
                                         body="Thank you.", purpose="TRANSACTIONAL"))
    assert (message.status, message.error_code, message.attempts) == ("BOUNCED", "bounced", 1)
    assert message.error.startswith(f"Bounced: {TO}: 550")


def test_an_in_app_message_is_delivered_at_once(tenant):
    _account(tenant, "WEB", {})
    contact = _person(tenant, [{"type": "EMAIL", "value": TO}])
    message = _run_outbox(tenant, _queue(tenant, contact, "WEB", body="Your table is ready."))
    assert (message.status, message.provider_message_id) == ("DELIVERED",
                                                             f"web:{message.pk}")


def test_a_whatsapp_template_outside_the_window_keeps_its_parameter_order(tenant):
    with FakeWhatsApp() as wa:
        _account(tenant, "WHATSAPP", {"phone_number_id": wa.phone_number_id,
                                      "api_base": wa.url},
                 {"access_token": wa.access_token, "app_secret": wa.app_secret})
        wa.add_template("booking_reminder", "en", body_params=2)
        contact = _person(tenant, [{"type": "WHATSAPP", "value": "+971501234567"}])
        with tenant_scope(tenant):
            template = Template.objects.create(
                tenant=tenant, key="booking-reminder", channel="WHATSAPP", language="en",
                status="PUBLISHED", body="Hi {{ contact.first_name }}, see you at {{ event.time }}",
                variables=["contact.first_name", "event.time"],
                provider_template_name="booking_reminder")
        # Named in the other order: a JSON column need not keep the template's order.
        message = _queue(tenant, contact, "WHATSAPP", body="Hi Amal, see you at 18:00",
                         template=template,
                         template_variables={"event.time": "18:00", "contact.first_name": "Amal"})
        message = _run_outbox(tenant, message)
        [sent] = wa.messages_to("971501234567")
    assert message.status == "SENT"
    assert sent.payload["template"]["components"] == [{"type": "body", "parameters": [
        {"type": "text", "text": "Amal"}, {"type": "text", "text": "18:00"}]}]
