"""Putting messages in the outbox.

`message_enqueue` is how every part of Tend sends anything: call it inside the transaction
that decided to send, with a `dedupe_key` when the decision could be made twice (a campaign
recipient, a journey step, a reminder). The row is the promise; the outbox worker keeps it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.messaging.choices import ChannelKind, MessageDirection, MessagePurpose, MessageStatus
from tend.messaging.models import ChannelAccount, Conversation, Message, Template
from tend.messaging.services.accounts import default_account
from tend.messaging.services.inbound import conversation_for
from tend.people.models import Contact

MAX_BODY = 20_000


def message_enqueue(*, tenant: Tenant, actor: Actor, contact: Contact, channel: str,
                    body: str = "", subject: str = "", purpose: str = MessagePurpose.CONVERSATION,
                    account: ChannelAccount | None = None,
                    conversation: Conversation | None = None,
                    template: Template | None = None,
                    template_variables: dict[str, Any] | None = None,
                    media: list[dict[str, Any]] | None = None,
                    dedupe_key: str | None = None, send_at: datetime | None = None,
                    source: str = "", metadata: dict[str, Any] | None = None,
                    to_address: str = "") -> tuple[Message, bool]:
    """Queue one outbound message; returns (message, created).

    With `dedupe_key`, a second call with the same key returns the first message and
    created=False — whatever its status — so nothing is sent twice. `account` defaults to
    the organization's active account for `channel`; conversation messages are appended to
    the contact's conversation on that account. Consent, quiet hours, the address and rate
    limits are settled by the worker at send time, not here.
    """
    errors: dict[str, list[str]] = {}
    if channel not in ChannelKind.values:
        errors["channel"] = [_("Choose a channel.")]
    if purpose not in MessagePurpose.values:
        errors["purpose"] = [_("Choose a purpose.")]
    if not (body or "").strip() and template is None and not media:
        errors["body"] = [_("Write a message.")]
    if len(body or "") > MAX_BODY:
        errors["body"] = [_("The message is too long.")]
    if account is not None and account.kind != channel:
        errors["account"] = [_("This account is not on the chosen channel.")]
    if errors:
        raise ValidationFailed(fields=errors)
    if dedupe_key:
        existing = Message.objects.filter(tenant=tenant, dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing, False
    account = account or default_account(tenant=tenant, kind=channel)
    if purpose == MessagePurpose.CONVERSATION and account is not None and conversation is None:
        conversation = conversation_for(tenant=tenant, account=account, contact=contact)
    now = timezone.now()
    message = Message(
        tenant=tenant, contact=contact, account=account, conversation=conversation,
        channel=channel, direction=MessageDirection.OUTBOUND, purpose=purpose,
        status=MessageStatus.QUEUED, body=body or "", subject=subject or "",
        media=media or [], template=template, template_variables=template_variables or {},
        dedupe_key=dedupe_key or None, sender=actor.user, source=source,
        metadata=metadata or {}, to_address=to_address, queued_at=now,
        next_attempt_at=send_at or now, created_by=actor.user)
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        if not dedupe_key:
            raise
        return Message.objects.get(tenant=tenant, dedupe_key=dedupe_key), False
    if conversation is not None:
        Conversation.objects.filter(pk=conversation.pk).update(
            last_message_at=now, last_message_preview=(body or "")[:200])
    from tend.messaging.outbox import outbox_wake

    transaction.on_commit(outbox_wake)
    return message, True


# --- dead letters -----------------------------------------------------------------------------

MAX_BULK = 1000


def _retryable(tenant: Tenant, ids: list[Any]) -> Any:
    from tend.messaging.selectors.outbox import DEAD_LETTER_STATUSES

    return Message.objects.filter(tenant=tenant, pk__in=ids,
                                  direction=MessageDirection.OUTBOUND,
                                  status__in=DEAD_LETTER_STATUSES)


def _clean_ids(ids: list[Any]) -> list[Any]:
    import uuid

    if not ids:
        raise ValidationFailed(fields={"ids": [_("Choose at least one message.")]})
    if len(ids) > MAX_BULK:
        raise ValidationFailed(fields={"ids": [_("Choose at most 1000 messages at a time.")]})
    clean = []
    for value in ids:
        try:
            clean.append(uuid.UUID(str(value)))
        except ValueError:
            raise ValidationFailed(fields={"ids": [_("Not a message id.")]}) from None
    return clean


def messages_retry(*, tenant: Tenant, actor: Actor, ids: list[Any]) -> int:
    """Put failed or dead-lettered messages back in the queue now, their attempts reset;
    returns how many. Others (already sent, discarded, other organizations') are left alone.
    Needs `outbox.manage`."""
    from tend.core.services.audit import audit_record
    from tend.core.services.guards import check_perm

    check_perm(actor, "outbox.manage")
    ids = _clean_ids(ids)
    now = timezone.now()
    with transaction.atomic():
        chosen = list(_retryable(tenant, ids).values_list("pk", flat=True))
        count = Message.objects.filter(pk__in=chosen).update(
            status=MessageStatus.QUEUED, attempts=0, next_attempt_at=now, lease_until=None,
            error_code="", error="", failed_at=None, skip_reason="", updated_at=now)
        if count:
            audit_record(tenant=tenant, actor=actor, action="outbox.retried",
                         entity_type="messaging.message",
                         entity_id=chosen[0] if count == 1 else "",
                         changes={"count": count, "ids": [str(pk) for pk in chosen[:100]]})
    if count:
        from tend.messaging.outbox import outbox_wake

        transaction.on_commit(outbox_wake)
    return count


def messages_discard(*, tenant: Tenant, actor: Actor, ids: list[Any]) -> int:
    """Give up on failed or dead-lettered messages (DISCARDED: never sent, kept for the
    record); returns how many. Needs `outbox.manage`."""
    from tend.core.services.audit import audit_record
    from tend.core.services.guards import check_perm

    check_perm(actor, "outbox.manage")
    ids = _clean_ids(ids)
    now = timezone.now()
    with transaction.atomic():
        chosen = list(_retryable(tenant, ids).values_list("pk", flat=True))
        count = Message.objects.filter(pk__in=chosen).update(
            status=MessageStatus.DISCARDED, lease_until=None, updated_at=now)
        if count:
            audit_record(tenant=tenant, actor=actor, action="outbox.discarded",
                         entity_type="messaging.message",
                         entity_id=chosen[0] if count == 1 else "",
                         changes={"count": count, "ids": [str(pk) for pk in chosen[:100]]})
    return count


# --- holding (a paused campaign) --------------------------------------------------------------


def _by_prefix(tenant: Tenant, dedupe_prefix: str) -> Any:
    if not dedupe_prefix:
        raise ValueError("a dedupe prefix is needed to choose the messages to hold")
    return Message.objects.filter(tenant=tenant, direction=MessageDirection.OUTBOUND,
                                  dedupe_key__startswith=dedupe_prefix)


def messages_hold(*, tenant: Tenant, dedupe_prefix: str) -> int:
    """Hold back the messages whose dedupe key starts with `dedupe_prefix` (a paused campaign):
    QUEUED ones become HELD, which no worker claims; returns how many were held back
    (held, or marked as below).

    Those being sent right now (SENDING) cannot be called back: they get `hold_requested`,
    and should their send fail and be retried, or be put off by a rate limit or quiet hours,
    the worker writes HELD instead of QUEUED in the same statement that records the attempt
    (`outbox.worker.write_results`). One statement here too, so a row whose attempt is
    being recorded right now is either still SENDING (and marked) or already QUEUED (and
    held) — never missed in between."""
    now = timezone.now()
    return _by_prefix(tenant, dedupe_prefix).filter(
        status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]).update(
        status=Case(When(status=MessageStatus.QUEUED, then=Value(MessageStatus.HELD)),
                    default=F("status")),
        hold_requested=Case(When(status=MessageStatus.SENDING, then=Value(True)),
                            default=F("hold_requested")),
        updated_at=now)


def messages_release(*, tenant: Tenant, dedupe_prefix: str) -> int:
    """Put the held messages of `dedupe_prefix` back in the queue (and withdraw the hold
    asked of those still being sent); returns how many were released."""
    now = timezone.now()
    released = _by_prefix(tenant, dedupe_prefix).filter(status=MessageStatus.HELD).count()
    _by_prefix(tenant, dedupe_prefix).filter(
        Q(status=MessageStatus.HELD) | Q(hold_requested=True)).update(
        status=Case(When(status=MessageStatus.HELD, then=Value(MessageStatus.QUEUED)),
                    default=F("status")),
        hold_requested=False, updated_at=now)
    if released:
        from tend.messaging.outbox import outbox_wake

        transaction.on_commit(outbox_wake)
    return released


# --- quiet hours ------------------------------------------------------------------------------


def quiet_hours_set(*, tenant: Tenant, actor: Actor, start: str, end: str) -> dict[str, str]:
    """Set (or, with both blank, clear) the organization's quiet hours: marketing messages
    due between `start` and `end` ("HH:MM", in each contact's time zone, else the
    organization's) wait until `end`. Needs `outbox.manage`."""
    import re

    from tend.core.services.guards import check_perm
    from tend.core.services.organization import tenant_setting_change

    check_perm(actor, "outbox.manage")
    start, end = (start or "").strip(), (end or "").strip()
    pattern = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
    errors: dict[str, list[str]] = {}
    if start or end:
        if not pattern.match(start):
            errors["start"] = [_("Enter a time as HH:MM (24-hour clock).")]
        if not pattern.match(end):
            errors["end"] = [_("Enter a time as HH:MM (24-hour clock).")]
        if not errors and start == end:
            errors["end"] = [_("The end must differ from the start.")]
    if errors:
        raise ValidationFailed(fields=errors)
    value = {"start": start, "end": end} if start else {}
    tenant_setting_change(
        tenant=tenant, actor=actor, key="quiet_hours", change=lambda stored: value or None,
        action="outbox.quiet_hours_changed", entity_type="core.tenant",
        changes=lambda previous, _new: {"before": previous or {}, "after": value})
    return value
