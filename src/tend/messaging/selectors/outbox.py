"""Reads for the outbox: dead letters (failed and dead-lettered messages) and its figures."""

from __future__ import annotations

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

# What the dead-letter view lists: messages that will not go unless someone retries them.
DEAD_LETTER_STATUSES = (MessageStatus.FAILED, MessageStatus.DEAD)


def dead_letters(*, tenant: Tenant, actor: Actor, status: str | None = None,
                 channel: str | None = None, account_id: Any = None,
                 error_code: str | None = None, search: str | None = None
                 ) -> QuerySet[Message]:
    """FAILED and DEAD outbound messages of `tenant`, newest failure first, with optional
    filters. Needs `outbox.view`."""
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
    return rows.select_related("contact", "account")


def dead_letter_error_codes(*, tenant: Tenant) -> list[tuple[str, int]]:
    """The error codes among the dead letters, most frequent first (for the filter)."""
    rows = (Message.objects.filter(tenant=tenant, direction=MessageDirection.OUTBOUND,
                                   status__in=DEAD_LETTER_STATUSES)
            .values_list("error_code").annotate(n=Count("id")).order_by("-n", "error_code"))
    return [(code or "", n) for code, n in rows[:50]]


def access_outbound(*, tenant: Tenant, actor: Actor, message_id: Any) -> Message:
    """One outbound message of `tenant`, or NotFound. Needs `outbox.view`."""
    check_perm(actor, "outbox.view")
    message = (Message.objects.filter(tenant=tenant, pk=message_id,
                                      direction=MessageDirection.OUTBOUND)
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
