"""The messaging skeleton's own services: encrypted credentials, the outbox's dedupe key and
status callbacks that never move a message backwards."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.messaging.choices import MessageStatus
from tend.messaging.models import ChannelAccount, Conversation, Message
from tend.messaging.providers import StatusUpdate
from tend.messaging.services.inbound import message_apply_status
from tend.messaging.services.outbox import message_enqueue
from tend.people.tests.helpers_360 import make_contact


@pytest.fixture
def account(scoped):
    account = ChannelAccount(tenant=scoped, kind="WEB", name="Website chat", status="ACTIVE")
    account.set_credentials({"token": "s3cret-value"})
    account.save()
    return account


def test_credentials_are_encrypted_at_rest(account):
    stored = ChannelAccount.objects.values_list("credentials_encrypted", flat=True).get()
    assert "s3cret-value" not in stored
    assert ChannelAccount.objects.get().credentials == {"token": "s3cret-value"}


def test_enqueue_with_the_same_dedupe_key_returns_the_first_message(scoped, account):
    contact = make_contact(scoped)
    first, created = message_enqueue(tenant=scoped, actor=Actor.system(), contact=contact,
                                     channel="WEB", body="Hello", dedupe_key="welcome:1")
    again, created_again = message_enqueue(tenant=scoped, actor=Actor.system(), contact=contact,
                                           channel="WEB", body="Hello!", dedupe_key="welcome:1")
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Message.objects.count() == 1
    assert first.account_id == account.pk
    assert first.conversation == Conversation.objects.get(contact=contact, account=account)
    assert first.status == MessageStatus.QUEUED and first.next_attempt_at is not None


def test_enqueue_refuses_an_empty_message_with_field_errors(scoped, account):
    contact = make_contact(scoped)
    with pytest.raises(ValidationFailed) as exc:
        message_enqueue(tenant=scoped, actor=Actor.system(), contact=contact, channel="FAX",
                        body="  ")
    assert set(exc.value.fields) == {"channel", "body"}
    assert Message.objects.count() == 0


def test_status_callbacks_never_move_a_message_backwards(scoped, account):
    contact = make_contact(scoped)
    message, _ = message_enqueue(tenant=scoped, actor=Actor.system(), contact=contact,
                                 channel="WEB", body="Hi")
    Message.objects.filter(pk=message.pk).update(status="SENT", provider_message_id="p-1")
    t0 = timezone.now()
    read = StatusUpdate("p-1", "READ", at=t0)
    late_delivered = StatusUpdate("p-1", "DELIVERED", at=t0 - timedelta(seconds=5))
    late_failed = StatusUpdate("p-1", "FAILED", error_code="131026", error="undeliverable")
    for update in (read, late_delivered, late_failed):
        message_apply_status(tenant=scoped, account=account, update=update)
    message.refresh_from_db()
    assert message.status == "READ"
    assert message.read_at == t0 and message.delivered_at == t0
    assert (message.error_code, message.failed_at) == ("131026", None)
    assert message_apply_status(tenant=scoped, account=account,
                                update=StatusUpdate("unknown", "READ")) is None
