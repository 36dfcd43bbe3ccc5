"""Messaging rows follow a contact merged into another (a merge participant).

The loser's conversations move to the winner; where the winner already talks with the person
on the same account, the loser's messages join the winner's conversation and the loser's
conversation is removed (one conversation per account and contact). Messages and Telegram
links pointing at the loser point at the winner.
"""

from __future__ import annotations

from django.db.models import Max

from tend.core.models import Tenant
from tend.messaging.models import Conversation, Message, TelegramLink
from tend.people.models import Contact


def merge_messaging_rows(tenant: Tenant, winner: Contact, loser: Contact) -> None:
    """Move `loser`'s conversations, messages and Telegram links to `winner` (runs inside the
    merge's transaction)."""
    mine = {c.account_id: c for c in Conversation.objects.filter(tenant=tenant, contact=winner)}
    for conversation in Conversation.objects.filter(tenant=tenant, contact=loser):
        kept = mine.get(conversation.account_id)
        if kept is None:
            conversation.contact = winner
            conversation.save(update_fields=["contact", "updated_at"])
            continue
        Message.objects.filter(tenant=tenant, conversation=conversation).update(
            conversation=kept)
        latest = Message.objects.filter(tenant=tenant, conversation=kept).aggregate(
            last=Max("queued_at"))["last"]
        kept.unread_count += conversation.unread_count
        if latest and (kept.last_message_at is None or latest > kept.last_message_at):
            kept.last_message_at = latest
            kept.last_message_preview = conversation.last_message_preview
        if conversation.last_inbound_at and (kept.last_inbound_at is None
                                             or conversation.last_inbound_at
                                             > kept.last_inbound_at):
            kept.last_inbound_at = conversation.last_inbound_at
            kept.external_chat_id = conversation.external_chat_id or kept.external_chat_id
        kept.save(update_fields=["unread_count", "last_message_at", "last_message_preview",
                                 "last_inbound_at", "external_chat_id", "updated_at"])
        conversation.delete()
    Message.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
    TelegramLink.objects.filter(tenant=tenant, contact=loser).update(contact=winner)
