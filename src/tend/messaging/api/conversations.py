"""Conversations (the inbox): list with filters, read, messages, reply, assign, snooze,
resolve, reopen, mark read; retry a failed message."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.core.models import User
from tend.messaging.choices import ChannelKind, ConversationStatus
from tend.messaging.selectors.conversations import (
    CONVERSATION_ORDERING,
    MESSAGE_ORDERING,
    InboxFilters,
    conversation_counts,
    conversation_get,
    conversation_list,
    conversation_messages,
    message_get,
)
from tend.messaging.selectors.templates import template_get
from tend.messaging.services.conversations import (
    assignee_from_id,
    conversation_assign,
    conversation_mark_read,
    conversation_reopen,
    conversation_reply,
    conversation_resolve,
    conversation_snooze,
    message_retry,
    outside_window,
)

router = Router(tags=["Conversations"])


class PersonRef(Schema):
    id: UUID
    display_name: str


class UserRef(Schema):
    id: UUID
    full_name: str
    email: str


class AccountRef(Schema):
    id: UUID
    kind: str
    name: str


class ConversationOut(Schema):
    id: UUID
    contact: PersonRef
    account: AccountRef
    status: str
    assignee: UserRef | None
    snoozed_until: datetime | None
    last_message_at: datetime | None
    last_inbound_at: datetime | None
    last_message_preview: str
    unread_count: int
    flow: str = Field(description="The bot flow talking with the contact ('' for none).")
    templates_only: bool = Field(description="WhatsApp's 24-hour window is closed: only "
                                             "templates can be sent.")
    created_at: datetime

    @staticmethod
    def resolve_templates_only(obj: Any) -> bool:
        return outside_window(obj)


class MessageOut(Schema):
    id: UUID
    direction: str
    channel: str
    status: str
    purpose: str
    subject: str
    body: str
    template_id: UUID | None
    template_variables: dict[str, Any]
    sender_id: UUID | None
    error_code: str
    error: str
    skip_reason: str
    queued_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    failed_at: datetime | None
    received_at: datetime | None


class ConversationFilter(Schema):
    view: str = Field("all", description="`all`, `mine` (assigned to me) or `unassigned`.")
    status: ConversationStatus | None = Field(None, description="Omit for every status.")
    channel: ChannelKind | None = None
    account_id: UUID | None = None
    contact_id: UUID | None = None
    q: str | None = Field(None, max_length=100, description="Part of the contact's name.")


class CountsOut(Schema):
    all: int
    mine: int
    unassigned: int
    unread: int


class ReplyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    body: str = Field("", max_length=4096, description="Free text (not with a template).")
    template_id: UUID | None = Field(None, description="A published template of the "
                                                       "conversation's channel.")
    variables: dict[str, dict[str, str]] | None = Field(
        None, description="Extra template values by namespace, e.g. "
                          "`{\"event\": {\"title\": \"…\"}}`.")


class AssignIn(Schema):
    model_config = ConfigDict(extra="forbid")

    assignee_id: UUID | None = Field(description="A member of this organization; null to "
                                                 "unassign.")


class SnoozeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    until: datetime = Field(description="When to wake it, with a time zone.")


def _filters(request: ApiRequest, f: ConversationFilter) -> InboxFilters:
    return InboxFilters.from_params(f.dict(), default_status="", strict=True)


def _conversation(request: ApiRequest, conversation_id: UUID) -> Any:
    """The conversation, if the caller may see its contact (unit-scoped staff), else 404."""
    return conversation_get(tenant=request.tenant, conversation_id=conversation_id,
                            actor=getattr(request, "actor", None))


@router.get("/conversations", response=Page[ConversationOut])
def conversations_list(request: ApiRequest, page: Query[PageParams],
                       filters: Query[ConversationFilter]) -> Any:
    """Conversations, newest activity first. Needs `conversations.view`."""
    actor = require(request, "conversations.view")
    qs = conversation_list(tenant=request.tenant, user=actor.acting_user,
                           filters=_filters(request, filters), actor=actor)
    return paginate(qs, page, ordering=CONVERSATION_ORDERING)


@router.get("/conversations/counts", response=CountsOut)
def conversations_counts(request: ApiRequest, filters: Query[ConversationFilter]) -> Any:
    """How many conversations each view (all, mine, unassigned) and how many unread hold
    under the other filters. Needs `conversations.view`."""
    actor = require(request, "conversations.view")
    return conversation_counts(tenant=request.tenant, user=actor.acting_user,
                               filters=_filters(request, filters), actor=actor)


@router.get("/conversations/{conversation_id}", response=ConversationOut)
def conversations_get(request: ApiRequest, conversation_id: UUID) -> Any:
    """One conversation. Needs `conversations.view`."""
    require(request, "conversations.view")
    return _conversation(request, conversation_id)


@router.get("/conversations/{conversation_id}/messages", response=Page[MessageOut])
def conversations_messages(request: ApiRequest, conversation_id: UUID,
                           page: Query[PageParams]) -> Any:
    """The conversation's messages, oldest first. Needs `conversations.view`."""
    require(request, "conversations.view")
    conversation = _conversation(request, conversation_id)
    return paginate(conversation_messages(tenant=request.tenant, conversation=conversation),
                    page, ordering=MESSAGE_ORDERING)


@router.post("/conversations/{conversation_id}/reply", response={201: MessageOut})
def conversations_reply(request: ApiRequest, conversation_id: UUID, payload: ReplyIn) -> Any:
    """Queue a reply: `body`, or a `template_id`. Outside WhatsApp's 24-hour window only a
    template is accepted (422 on `body`). Ends a running bot flow. Needs
    `conversations.send`."""
    actor = require(request, "conversations.send")
    conversation = _conversation(request, conversation_id)
    template = None
    if payload.template_id is not None:
        try:
            template = template_get(tenant=request.tenant, template_id=payload.template_id)
        except NotFound:
            raise ValidationFailed(fields={"template_id": [
                _("Choose a published template of this channel.")]}) from None
    message = conversation_reply(tenant=request.tenant, actor=actor, conversation=conversation,
                                 body=payload.body, template=template,
                                 extra=payload.variables)
    return Status(201, message)


def _member(request: ApiRequest, user_id: UUID | None) -> User | None:
    if user_id is None:
        return None
    return assignee_from_id(tenant=request.tenant, user_id=user_id, field="assignee_id")


@router.post("/conversations/{conversation_id}/assign", response=ConversationOut)
def conversations_assign(request: ApiRequest, conversation_id: UUID, payload: AssignIn) -> Any:
    """Assign to a member (notified by bell and email unless it is you) or unassign. Needs
    `conversations.change`."""
    actor = require(request, "conversations.change")
    conversation = _conversation(request, conversation_id)
    return conversation_assign(tenant=request.tenant, actor=actor, conversation=conversation,
                               assignee=_member(request, payload.assignee_id))


@router.post("/conversations/{conversation_id}/snooze", response=ConversationOut)
def conversations_snooze(request: ApiRequest, conversation_id: UUID, payload: SnoozeIn) -> Any:
    """Snooze until a time (within a year); a message from the person wakes it earlier.
    Needs `conversations.change`."""
    actor = require(request, "conversations.change")
    conversation = _conversation(request, conversation_id)
    return conversation_snooze(tenant=request.tenant, actor=actor, conversation=conversation,
                               until=payload.until)


@router.post("/conversations/{conversation_id}/resolve", response=ConversationOut)
def conversations_resolve(request: ApiRequest, conversation_id: UUID) -> Any:
    """Mark resolved. Needs `conversations.change`."""
    actor = require(request, "conversations.change")
    conversation = _conversation(request, conversation_id)
    return conversation_resolve(tenant=request.tenant, actor=actor, conversation=conversation)


@router.post("/conversations/{conversation_id}/reopen", response=ConversationOut)
def conversations_reopen(request: ApiRequest, conversation_id: UUID) -> Any:
    """Open again. Needs `conversations.change`."""
    actor = require(request, "conversations.change")
    conversation = _conversation(request, conversation_id)
    return conversation_reopen(tenant=request.tenant, actor=actor, conversation=conversation)


@router.post("/conversations/{conversation_id}/read", response=ConversationOut)
def conversations_read(request: ApiRequest, conversation_id: UUID) -> Any:
    """Reset the unread count. Needs `conversations.view`."""
    actor = require(request, "conversations.view")
    conversation = _conversation(request, conversation_id)
    conversation_mark_read(tenant=request.tenant, actor=actor, conversation=conversation)
    return conversation


@router.post("/conversations/{conversation_id}/messages/{message_id}/retry",
             response=MessageOut)
def messages_retry(request: ApiRequest, conversation_id: UUID, message_id: UUID) -> Any:
    """Queue a failed or dead-lettered outbound message of the conversation again. Needs
    `conversations.send`."""
    actor = require(request, "conversations.send")
    message = message_get(tenant=request.tenant, message_id=message_id)
    if message.conversation_id != conversation_id:
        raise NotFound(_("There is no such message."))
    return message_retry(tenant=request.tenant, actor=actor, message=message)
