"""Inbound events: what processing one does.

Events are stored raw in the webhook request and drained per account in the background
(`services.inbound_drain`: `inbound_store`, `inbound_drain`), so a provider re-delivering an
update — even 20 copies at once — is stored once and processed once. Processing a message
resolves the sender to a contact (created if new) and appends the message to the
conversation with an activity on the timeline, then bot commands and flows get their turn
(`apply_message`). Delivery statuses move the outbound message they are about
(`message_apply_status`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.messaging.choices import (
    DELIVERY_ORDER,
    ConversationStatus,
    MessageDirection,
    MessageStatus,
)
from tend.messaging.models import ChannelAccount, Conversation, Message
from tend.messaging.providers import ParsedMessage, StatusUpdate
from tend.messaging.services.inbound_drain import inbound_retry, inbound_store
from tend.messaging.signals import message_received, message_status_changed
from tend.people.choices import ActivityCategory
from tend.people.models import Contact
from tend.people.services.activities import activity_record
from tend.people.services.resolution import contact_resolve

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
PREVIEW_CHARS = 200

__all__ = ["apply_message", "conversation_for", "inbound_append", "inbound_retry",
           "inbound_store", "message_apply_status"]


def conversation_for(*, tenant: Tenant, account: ChannelAccount, contact: Contact,
                     chat_id: str = "") -> Conversation:
    """The conversation of `contact` on `account`, created if there is none."""
    conversation = Conversation.objects.filter(tenant=tenant, account=account,
                                               contact=contact).first()
    if conversation is None:
        try:
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    tenant=tenant, account=account, contact=contact, external_chat_id=chat_id)
        except IntegrityError:
            conversation = Conversation.objects.get(tenant=tenant, account=account,
                                                    contact=contact)
    if chat_id and conversation.external_chat_id != chat_id:
        conversation.external_chat_id = chat_id
        conversation.save(update_fields=["external_chat_id", "updated_at"])
    return conversation


def apply_message(tenant: Tenant, account: ChannelAccount, parsed: ParsedMessage) -> Message:
    """Append `parsed` from whoever sent it: the sender is resolved to a contact by their
    identities (created if new), then `inbound_append`. Once per provider message id."""
    actor = Actor.system()
    dedupe_key = f"in:{account.pk}:{parsed.provider_message_id}"[:200]
    existing = Message.objects.filter(tenant=tenant, dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    defaults: dict[str, Any] = {k: v for k, v in (
        ("first_name", parsed.sender.first_name), ("last_name", parsed.sender.last_name),
        ("language", parsed.sender.language)) if v}
    resolved = contact_resolve(tenant=tenant, actor=actor, identifiers=parsed.sender.identifiers,
                               defaults=defaults, source=account.kind.lower())
    return inbound_append(tenant=tenant, account=account, contact=resolved.contact,
                          parsed=parsed)


@transaction.atomic
def inbound_append(*, tenant: Tenant, account: ChannelAccount, contact: Contact,
                   parsed: ParsedMessage) -> Message:
    """Append an inbound message from a known `contact` to its conversation on `account`
    (once per `parsed.provider_message_id`), with the timeline activity, then give it to the
    bot commands and flows. Channels that know the contact without resolving identities (the
    in-app page reached by a signed link) call this directly."""
    actor = Actor.system()
    dedupe_key = f"in:{account.pk}:{parsed.provider_message_id}"[:200]
    existing = Message.objects.filter(tenant=tenant, dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    conversation = conversation_for(tenant=tenant, account=account, contact=contact,
                                    chat_id=parsed.chat_id)
    at = parsed.sent_at or timezone.now()
    message = Message.objects.create(
        tenant=tenant, conversation=conversation, contact=contact, account=account,
        channel=account.kind, direction=MessageDirection.INBOUND, status=MessageStatus.RECEIVED,
        to_address=parsed.chat_id, body=parsed.text, media=parsed.media,
        provider_message_id=parsed.provider_message_id[:200], dedupe_key=dedupe_key,
        metadata={"data": parsed.data} if parsed.data else {}, queued_at=at, received_at=at)
    conversation.last_message_at = at
    conversation.last_inbound_at = at
    conversation.last_message_preview = (parsed.text or "")[:PREVIEW_CHARS]
    conversation.unread_count += 1
    fields = ["last_message_at", "last_inbound_at", "last_message_preview", "unread_count",
              "updated_at"]
    if conversation.status in (ConversationStatus.RESOLVED, ConversationStatus.SNOOZED):
        # A new message from the person reopens the thread (as Chatwoot does).
        conversation.status = ConversationStatus.OPEN
        conversation.snoozed_until = None
        fields += ["status", "snoozed_until"]
    conversation.save(update_fields=fields)
    activity_record(tenant=tenant, actor=actor, type="MESSAGE_RECEIVED", contact=contact,
                    category=ActivityCategory.COMMUNICATION, channel=account.kind,
                    title=(parsed.text or "")[:PREVIEW_CHARS],
                    metadata={"account": account.name, "conversation": str(conversation.pk)},
                    source=f"messaging:{account.pk}", source_event_id=message.dedupe_key,
                    occurred_at=at, related=message)
    from tend.messaging.flows import flow_handle

    flow_handle(tenant=tenant, conversation=conversation, message=message)
    # Robust: the drain commits a batch of messages at once, and a receiver failing for one
    # must not skip the other messages' receivers (nor stop the drain).
    transaction.on_commit(lambda: message_received.send(
        sender=Message, tenant=tenant, message=message, conversation=conversation),
        robust=True)
    return message


@transaction.atomic
def message_apply_status(*, tenant: Tenant, account: ChannelAccount,
                         update: StatusUpdate) -> Message | None:
    """Move the outbound message `update` is about; statuses never go backwards (a late
    DELIVERED after READ changes nothing) and a failure after delivery is kept as an error
    only. Unknown message ids are ignored (None)."""
    message = (Message.objects.select_for_update()
               .filter(tenant=tenant, account=account,
                       provider_message_id=update.provider_message_id,
                       direction=MessageDirection.OUTBOUND).first())
    if message is None:
        return None
    at = update.at or timezone.now()
    previous = message.status
    fields = ["updated_at"]
    if update.status in DELIVERY_ORDER:
        if DELIVERY_ORDER.get(previous, 0) >= DELIVERY_ORDER[update.status]:
            return message
        message.status = update.status
        fields.append("status")
        stamp = {MessageStatus.SENT: "sent_at", MessageStatus.DELIVERED: "delivered_at",
                 MessageStatus.READ: "read_at"}[MessageStatus(update.status)]
        for name in ("sent_at", "delivered_at", "read_at"):
            if getattr(message, name) is None:
                setattr(message, name, at)
                fields.append(name)
            if name == stamp:
                break
    elif update.status in (MessageStatus.FAILED, MessageStatus.BOUNCED):
        message.error_code = update.error_code[:60]
        message.error = update.error[:MAX_ERROR_CHARS]
        fields += ["error_code", "error"]
        if previous not in (MessageStatus.DELIVERED, MessageStatus.READ):
            message.status = update.status
            message.failed_at = at
            fields += ["status", "failed_at"]
    else:
        return message
    message.save(update_fields=fields)
    if message.status != previous:
        # Robust, as `message_received`: the drain commits a batch of statuses at once.
        transaction.on_commit(lambda: message_status_changed.send(
            sender=Message, tenant=tenant, message=message, status=message.status,
            previous=previous), robust=True)
    return message
