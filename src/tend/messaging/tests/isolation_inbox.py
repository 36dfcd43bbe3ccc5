"""Isolation entries for conversations: the victim has a contact writing on its in-app
account, a staff reply that failed, all named with canaries."""

from datetime import timedelta

from django.utils import timezone

from tend.core.tests.isolation import register, victim_builder
from tend.messaging.models import ChannelAccount, Message
from tend.messaging.providers import ParsedMessage, Sender
from tend.messaging.services.inbound import inbound_append
from tend.people.models import Contact


@victim_builder
def _inbox(v, c):
    account = ChannelAccount.objects.create(tenant=v.tenant, kind="WEB", status="ACTIVE",
                                            name=c("web account"))
    contact = Contact.objects.create(tenant=v.tenant, first_name=c("chat first"),
                                     display_name=c("chat person"))
    inbound = inbound_append(tenant=v.tenant, account=account, contact=contact,
                             parsed=ParsedMessage(provider_message_id="iso-1",
                                                  sender=Sender(identifiers=[]),
                                                  chat_id=str(contact.pk),
                                                  text=c("inbound text")))
    v.conversation = inbound.conversation
    v.failed_message = Message.objects.create(
        tenant=v.tenant, conversation=v.conversation, contact=contact, account=account,
        channel="WEB", direction="OUTBOUND", status="FAILED", body=c("failed reply"),
        error=c("failed error"))


register("GET", "/api/v1/conversations", targets_victim=False, query=lambda v: {"limit": 5})
register("GET", "/api/v1/conversations/counts", targets_victim=False)
conversation = {"path": lambda v: {"conversation_id": v.conversation.pk}}
register("GET", "/api/v1/conversations/{conversation_id}", **conversation)
register("GET", "/api/v1/conversations/{conversation_id}/messages", **conversation)
register("POST", "/api/v1/conversations/{conversation_id}/reply", **conversation,
         body=lambda v: {"body": "Suite reply"})
register("POST", "/api/v1/conversations/{conversation_id}/assign", **conversation,
         body=lambda v: {"assignee_id": None})
register("POST", "/api/v1/conversations/{conversation_id}/snooze", **conversation,
         body=lambda v: {"until": (timezone.now() + timedelta(days=1)).isoformat()})
register("POST", "/api/v1/conversations/{conversation_id}/resolve", **conversation)
register("POST", "/api/v1/conversations/{conversation_id}/reopen", **conversation)
register("POST", "/api/v1/conversations/{conversation_id}/read", **conversation)
register("POST", "/api/v1/conversations/{conversation_id}/messages/{message_id}/retry",
         path=lambda v: {"conversation_id": v.conversation.pk,
                         "message_id": v.failed_message.pk})
