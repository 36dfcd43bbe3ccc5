"""Reads for the outbox: dead letters (failed and dead-lettered messages) and its figures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Tenant
from tend.core.services.guards import check_perm
from tend.messaging.choices import MessageDirection, MessageStatus
from tend.messaging.models import Message
from tend.people.visibility import contact_scope_filter

# What the dead-letter view lists: messages that will not go unless someone retries them.
DEAD_LETTER_STATUSES = (MessageStatus.FAILED, MessageStatus.DEAD)


def _visible(rows: QuerySet[Message], tenant: Tenant, actor: Actor) -> QuerySet[Message]:
    """`rows` without the messages to contacts the actor may not see (a member limited to
    some units sees only their people's messages, and those to no contact)."""
    scope = contact_scope_filter(tenant=tenant, actor=actor)
    return rows if scope is None else rows.filter(Q(contact__isnull=True) | scope)


def visible_message_ids(*, tenant: Tenant, actor: Actor, ids: Sequence[Any]) -> list[Any]:
    """`ids` (as given) less those of messages to contacts the actor may not see, for the
    bulk retry and discard; values that are not ids are kept for the service to refuse."""
    if contact_scope_filter(tenant=tenant, actor=actor) is None:
        return list(ids)
    parsed: list[uuid.UUID | None] = []
    for value in ids:
        try:
            parsed.append(uuid.UUID(str(value)))
        except ValueError:
            parsed.append(None)
    named = Message.objects.filter(tenant=tenant, pk__in=[p for p in parsed if p])
    hidden = set(named.values_list("pk", flat=True)) - set(
        _visible(named, tenant, actor).values_list("pk", flat=True))
    return [value for value, pk in zip(ids, parsed, strict=True) if pk not in hidden]


def dead_letters(*, tenant: Tenant, actor: Actor, status: str | None = None,
                 channel: str | None = None, account_id: Any = None,
                 error_code: str | None = None, search: str | None = None
                 ) -> QuerySet[Message]:
    """FAILED and DEAD outbound messages of `tenant` the actor may see (`_visible`), newest
    failure first, with optional filters. Needs `outbox.view`."""
    check_perm(actor, "outbox.view")
    rows = Message.objects.filter(tenant=tenant, direction=MessageDirection.OUTBOUND,
                                  status__in=DEAD_LETTER_STATUSES)
    if status in DEAD_LETTER_STATUSES:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    if account_id:
        rows = rows.filter(account_id=account_id)
    if error_code:
        rows = rows.filter(error_code=error_code)
    if search:
        rows = rows.filter(Q(error__icontains=search) | Q(body__icontains=search)
                           | Q(to_address__icontains=search))
    return _visible(rows, tenant, actor).select_related("contact", "account")


def dead_letter_error_codes(*, tenant: Tenant) -> list[tuple[str, int]]:
    """The error codes among the dead letters, most frequent first (for the filter)."""
    rows = (Message.objects.filter(tenant=tenant, direction=MessageDirection.OUTBOUND,
                                   status__in=DEAD_LETTER_STATUSES)
            .values_list("error_code").annotate(n=Count("id")).order_by("-n", "error_code"))
    return [(code or "", n) for code, n in rows[:50]]


def access_outbound(*, tenant: Tenant, actor: Actor, message_id: Any) -> Message:
    """One outbound message of `tenant` the actor may see, or NotFound. Needs
    `outbox.view`."""
    check_perm(actor, "outbox.view")
    message = (_visible(Message.objects.filter(tenant=tenant, pk=message_id,
                                               direction=MessageDirection.OUTBOUND),
                        tenant, actor)
               .select_related("contact", "account").first())
    if message is None:
        raise NotFound()
    return message


@dataclass(frozen=True)
class OutboxStats:
    queued: int
    sending: int
    sent_last_hour: int
    failed: int
    dead: int


def outbox_stats(*, tenant: Tenant, actor: Actor) -> OutboxStats:
    """How the outbox stands: waiting, being sent, sent in the last hour, failed, dead.
    Needs `outbox.view`."""
    check_perm(actor, "outbox.view")
    since = timezone.now() - timedelta(hours=1)
    rows = Message.objects.filter(tenant=tenant, direction=MessageDirection.OUTBOUND)
    counts = rows.filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING,
                                     MessageStatus.FAILED, MessageStatus.DEAD]
                         ).values_list("status").annotate(n=Count("id"))
    by_status = dict(counts)
    sent = rows.filter(sent_at__gte=since).count()
    return OutboxStats(queued=by_status.get(MessageStatus.QUEUED, 0),
                       sending=by_status.get(MessageStatus.SENDING, 0),
                       sent_last_hour=sent,
                       failed=by_status.get(MessageStatus.FAILED, 0),
                       dead=by_status.get(MessageStatus.DEAD, 0))
