"""The inbox: replying, assigning, snoozing, resolving, reopening and reading conversations,
and the contact's side of the in-app (WEB) channel.

A staff reply ends a bot flow running in the conversation. WhatsApp only lets a business
write free text within 24 hours of the person's last message; outside that window a reply
must be a (pre-approved) template, and `conversation_reply` refuses free text there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import Membership, Tenant, User
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.messaging.choices import (
    ChannelKind,
    ConversationStatus,
    MessageDirection,
    MessagePurpose,
    MessageStatus,
    TemplateStatus,
)
from tend.messaging.models import ChannelAccount, Conversation, Message, Template
from tend.messaging.providers import ParsedMessage, Sender
from tend.people.models import Contact

WHATSAPP_WINDOW = timedelta(hours=24)
MAX_REPLY = 4096
MAX_SNOOZE = timedelta(days=365)


def outside_window(conversation: Conversation, *, now: datetime | None = None) -> bool:
    """True when only templates may be sent: a WhatsApp conversation whose person has not
    written in the last 24 hours (or ever)."""
    if conversation.account.kind != ChannelKind.WHATSAPP:
        return False
    last = conversation.last_inbound_at
    return last is None or last < (now or timezone.now()) - WHATSAPP_WINDOW


def _end_flow(tenant: Tenant, conversation: Conversation) -> None:
    from tend.messaging import flows

    flow_end = getattr(flows, "flow_end", None)
    if flow_end is not None:
        flow_end(conversation=conversation, reason="staff_reply", tenant=tenant)
    elif conversation.flow:
        conversation.flow, conversation.state, conversation.state_data = "", "", {}
        conversation.save(update_fields=["flow", "state", "state_data", "updated_at"])


def conversation_reply(*, tenant: Tenant, actor: Actor, conversation: Conversation,
                       body: str = "", template: Template | None = None,
                       extra: Mapping[str, Mapping[str, Any]] | None = None,
                       dedupe_key: str | None = None) -> Message:
    """Queue a staff reply in `conversation`: free text, or a published `template` of the
    conversation's channel rendered for its contact. Needs `conversations.send`.

    Outside WhatsApp's 24-hour window free text is refused (a field error on `body`). A bot
    flow running in the conversation ends; unread messages count as read; a PENDING or
    SNOOZED conversation becomes OPEN again (a RESOLVED one stays resolved).
    """
    check_perm(actor, "conversations.send")
    from tend.messaging.services.outbox import message_enqueue
    from tend.messaging.services.templates import template_render

    body = (body or "").strip()
    account = conversation.account
    errors: dict[str, list[str]] = {}
    rendered: dict[str, Any] | None = None
    if template is not None:
        if (template.channel != account.kind or template.status != TemplateStatus.PUBLISHED
                or template.tenant_id != tenant.pk):
            errors["template"] = [_("Choose a published template of this channel.")]
        else:
            rendered = template_render(tenant=tenant, template=template,
                                       contact=conversation.contact, extra=extra)
    elif not body:
        errors["body"] = [_("Write a message.")]
    elif len(body) > MAX_REPLY:
        errors["body"] = [_("At most %(n)d characters.") % {"n": MAX_REPLY}]
    elif outside_window(conversation):
        errors["body"] = [_("More than 24 hours passed since this person last wrote: WhatsApp "
                            "only allows a template now.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().select_related(
            "account", "contact").get(tenant=tenant, pk=conversation.pk)
        message, _created = message_enqueue(
            tenant=tenant, actor=actor, contact=conversation.contact, channel=account.kind,
            account=account, conversation=conversation, purpose=MessagePurpose.CONVERSATION,
            body=rendered["body"] if rendered else body,
            subject=rendered["subject"] if rendered else "",
            template=template if rendered else None,
            template_variables=rendered["variables"] if rendered else None,
            dedupe_key=dedupe_key, source="inbox")
        _end_flow(tenant, conversation)
        changes: dict[str, Any] = {"unread_count": 0}
        if conversation.status in (ConversationStatus.PENDING, ConversationStatus.SNOOZED):
            changes.update(status=ConversationStatus.OPEN, snoozed_until=None)
        Conversation.objects.filter(tenant=tenant, pk=conversation.pk).update(
            updated_at=timezone.now(), **changes)
    return message


def _is_current_member(tenant: Tenant, user: User) -> bool:
    return user.is_active and Membership.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
        tenant=tenant, user=user, is_active=True).exists()


def assignee_from_id(*, tenant: Tenant, user_id: Any, field: str = "assignee") -> User:
    """The user `user_id` names if they are a member of `tenant`, else ValidationFailed on
    `field` (also when `user_id` is not an id at all)."""
    try:
        membership = (Membership.objects.filter(tenant=tenant, user_id=user_id)
                      .select_related("user").first())
    except (ValueError, TypeError, DjangoValidationError):
        membership = None
    if membership is None:
        raise ValidationFailed(fields={field: [_("Choose a member of this organization.")]})
    return membership.user


def conversation_assign(*, tenant: Tenant, actor: Actor, conversation: Conversation,
                        assignee: User | None) -> Conversation:
    """Give `conversation` to `assignee` (a current member; None: unassign). Needs
    `conversations.change`. The new assignee is notified (bell and email) unless they
    assigned it to themselves."""
    check_perm(actor, "conversations.change")
    if assignee is not None and not _is_current_member(tenant, assignee):
        raise ValidationFailed(fields={"assignee": [
            _("Choose a current member of this organization.")]})
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return conversation
    with transaction.atomic():
        conversation.assignee = assignee
        conversation.updated_by = actor.acting_user
        conversation.save(update_fields=["assignee", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="conversation.assigned",
                     entity_type="messaging.conversation", entity_id=conversation.pk,
                     changes={"assignee_id": str(assignee.pk) if assignee else None})
        if assignee is not None and assignee != actor.acting_user:
            _notify_assigned(tenant, actor, conversation, assignee)
    return conversation


def _notify_assigned(tenant: Tenant, actor: Actor, conversation: Conversation,
                     assignee: User) -> None:
    from tend.core.services.notifications import notification_create

    contact = conversation.contact
    who = actor.acting_user
    title = _("%(who)s assigned you a conversation with %(contact)s") % {
        "who": (who.full_name or who.email) if who is not None else actor.label,
        "contact": contact.display_name or _("a contact")}
    url = reverse("messaging:inbox-thread", kwargs={"org_slug": tenant.slug,
                                                    "conversation_id": conversation.pk})
    notification_create(tenant=tenant, user=assignee, kind="conversation.assigned",
                        title=title, body=conversation.last_message_preview, url=url)


def conversation_snooze(*, tenant: Tenant, actor: Actor, conversation: Conversation,
                        until: datetime) -> Conversation:
    """Hide `conversation` from the open list until `until` (aware, in the future, within a
    year); a message from the person wakes it earlier. Needs `conversations.change`."""
    check_perm(actor, "conversations.change")
    now = timezone.now()
    if not isinstance(until, datetime) or timezone.is_naive(until):
        raise ValidationFailed(fields={"until": [_("Give a date and time with a time zone.")]})
    if until <= now or until > now + MAX_SNOOZE:
        raise ValidationFailed(fields={"until": [_("Choose a time in the coming year.")]})
    return _set_status(tenant, actor, conversation, ConversationStatus.SNOOZED, until)


def conversation_resolve(*, tenant: Tenant, actor: Actor,
                         conversation: Conversation) -> Conversation:
    """Mark `conversation` done; a new message from the person reopens it. Needs
    `conversations.change`."""
    check_perm(actor, "conversations.change")
    return _set_status(tenant, actor, conversation, ConversationStatus.RESOLVED, None)


def conversation_reopen(*, tenant: Tenant, actor: Actor,
                        conversation: Conversation) -> Conversation:
    """Open a resolved or snoozed conversation again. Needs `conversations.change`."""
    check_perm(actor, "conversations.change")
    return _set_status(tenant, actor, conversation, ConversationStatus.OPEN, None)


def _set_status(tenant: Tenant, actor: Actor, conversation: Conversation, status: str,
                until: datetime | None) -> Conversation:
    previous = conversation.status
    conversation.status = status
    conversation.snoozed_until = until
    conversation.updated_by = actor.acting_user
    conversation.save(update_fields=["status", "snoozed_until", "updated_by", "updated_at"])
    if previous != status:
        audit_record(tenant=tenant, actor=actor, action=f"conversation.{status.lower()}",
                     entity_type="messaging.conversation", entity_id=conversation.pk,
                     changes={"status": status, "previous": previous})
    return conversation


def conversation_mark_read(*, tenant: Tenant, actor: Actor,
                           conversation: Conversation) -> None:
    """Reset the unread count (opening a thread does this). Needs `conversations.view`."""
    check_perm(actor, "conversations.view")
    if conversation.unread_count:
        Conversation.objects.filter(tenant=tenant, pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0


def message_retry(*, tenant: Tenant, actor: Actor, message: Message) -> Message:
    """Put a failed or dead-lettered outbound message back in the queue. Needs
    `conversations.send`."""
    check_perm(actor, "conversations.send")
    if message.direction != MessageDirection.OUTBOUND or message.status not in (
            MessageStatus.FAILED, MessageStatus.DEAD):
        raise Conflict(_("Only a failed message can be sent again."))
    Message.objects.filter(tenant=tenant, pk=message.pk).update(
        status=MessageStatus.QUEUED, next_attempt_at=timezone.now(), lease_until=None,
        leased_by="", error="", error_code="", failed_at=None, attempts=0,
        updated_at=timezone.now())
    from tend.messaging.outbox import outbox_wake

    transaction.on_commit(outbox_wake)
    message.refresh_from_db()
    return message


def webchat_receive(*, tenant: Tenant, account: ChannelAccount, contact: Contact, text: str,
                    nonce: str) -> Message:
    """The contact wrote on the in-app page (reached by a signed link): store it as an
    inbound message of their conversation on the WEB `account`, like any channel's. `nonce`
    (a random id the page sends with the form) makes a double submit count once."""
    from tend.messaging.services.inbound import inbound_append

    text = (text or "").strip()
    if not text:
        raise ValidationFailed(fields={"body": [_("Write a message.")]})
    if len(text) > MAX_REPLY:
        raise ValidationFailed(fields={"body": [_("At most %(n)d characters.") % {
            "n": MAX_REPLY}]})
    if account.kind != ChannelKind.WEB:
        raise ValidationFailed(fields={"account": [_("This is not an in-app account.")]})
    nonce = "".join(ch for ch in str(nonce or "") if ch.isalnum() or ch in "-_")[:64]
    if not nonce:
        raise ValidationFailed(fields={"nonce": [_("Reload the page and try again.")]})
    parsed = ParsedMessage(provider_message_id=f"web:{contact.pk}:{nonce}",
                           sender=Sender(identifiers=[]), chat_id=str(contact.pk), text=text)
    with transaction.atomic():
        return inbound_append(tenant=tenant, account=account, contact=contact, parsed=parsed)
