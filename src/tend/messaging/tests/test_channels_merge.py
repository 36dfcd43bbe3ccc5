"""Messaging rows follow a merged contact: conversations, messages and Telegram links."""

from datetime import timedelta

from django.utils import timezone

from tend.core.actors import Actor
from tend.messaging.models import ChannelAccount, Conversation, Message, TelegramLink
from tend.messaging.services.inbound import conversation_for
from tend.people.services.merge import contact_merge
from tend.people.tests.helpers_360 import make_contact


def _account(tenant, name):
    return ChannelAccount.objects.create(tenant=tenant, kind="WEB", name=name, status="ACTIVE")


def _message(tenant, conversation, body, minutes):
    return Message.objects.create(
        tenant=tenant, conversation=conversation, contact=conversation.contact,
        account=conversation.account, channel="WEB", direction="INBOUND", status="RECEIVED",
        body=body, queued_at=timezone.now() - timedelta(minutes=minutes))


def test_conversations_messages_and_links_follow_the_winner(scoped):
    shared, only_loser = _account(scoped, "Shared"), _account(scoped, "Other")
    winner, loser = make_contact(scoped, first_name="Win"), make_contact(scoped, first_name="Lose")
    kept = conversation_for(tenant=scoped, account=shared, contact=winner)
    gone = conversation_for(tenant=scoped, account=shared, contact=loser)
    moved = conversation_for(tenant=scoped, account=only_loser, contact=loser)
    _message(scoped, kept, "old", 30)
    _message(scoped, gone, "newer", 5)
    _message(scoped, moved, "elsewhere", 10)
    Conversation.objects.filter(pk=gone.pk).update(unread_count=2, last_message_preview="newer")
    TelegramLink.objects.create(tenant=scoped, account=shared, contact=loser, code="c1",
                                expires_at=timezone.now() + timedelta(days=1))

    contact_merge(tenant=scoped, actor=Actor.system(), winner=winner, loser=loser)

    assert not Conversation.objects.filter(pk=gone.pk).exists()
    assert Conversation.objects.get(pk=moved.pk).contact_id == winner.pk
    kept = Conversation.objects.get(pk=kept.pk)
    assert sorted(kept.messages.values_list("body", flat=True)) == ["newer", "old"]
    assert (kept.unread_count, kept.last_message_preview) == (2, "newer")
    assert set(Message.objects.values_list("contact_id", flat=True)) == {winner.pk}
    assert TelegramLink.objects.get().contact_id == winner.pk

