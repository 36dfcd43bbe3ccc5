"""Inbound events: stored raw in the webhook request, drained per account in the background.

The webhook request does the least it can after the provider's proof is checked:

1. `events_store` inserts the raw events in one `INSERT … ON CONFLICT DO NOTHING` (SQLite:
   `INSERT OR IGNORE`) returning the ones that were new — the unique `(tenant, account,
   event_id)` de-duplicates, with no separate check; it commits at once (autocommit).
2. `inbound_drain_request` then asks for a drain of the account: one read of its
   `InboundDrain` row. While a drain is requested (`requested_at` set) nothing more happens,
   so a burst of updates costs one drain job. Otherwise it sets `requested_at` (only where it
   is still empty: one request wins) and enqueues `drain_inbound` after that commits.

`inbound_drain` (the job) takes the account's lease, then claims pending events in
`received_at` order, a batch at a time (`FOR UPDATE SKIP LOCKED` on PostgreSQL), processes
each in a savepoint of the batch's transaction (a failing event is marked FAILED with its
error and the others go on) and marks them PROCESSED, IGNORED or FAILED. One drainer per
account at a time (the lease) keeps each conversation's messages in order.

Why no event is lost. The drain ends by clearing `requested_at` and its lease in one commit,
then looks for pending events once more and drains again if it finds any. A webhook's event
commits before the webhook reads the drain row. So either the event committed before the
drain's last look (the drain sees it), or after: then the webhook reads the row after the
drain cleared it, requests a drain and enqueues a job. A job that finds the lease taken
returns at once: the holder looks again after releasing. What a crash leaves behind (a lease
that runs out, a request whose job was lost, an event stored just before the process died)
is picked up by `inbound_sweep`, which the tick runs every minute.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, models, transaction
from django.db.models import F, Q, Value
from django.db.models.constants import OnConflict
from django.db.models.functions import Coalesce
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.crypto import get_random_string

from tend.core.background import enqueue_on_commit
from tend.core.models import Tenant
from tend.core.tenancy import current_tenant, tenant_scope
from tend.messaging.choices import InboundStatus
from tend.messaging.models import ChannelAccount, InboundDrain, InboundEvent
from tend.messaging.providers import (
    InboundItem,
    ParsedMessage,
    Provider,
    StatusUpdate,
    provider_for,
)

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
# Events claimed and processed in one transaction (one commit per batch).
DRAIN_BATCH = 50
# An event whose processing stopped its worker this many times is given up (FAILED).
CRASH_LIMIT = 3
CRASHED = "The worker stopped while processing this event %(times)d times; it is left for a retry."
TAKEN, RECOVERED, GAVE_UP = "taken", "recovered", "gave up"
# How long a drainer holds an account without renewing (it renews with every batch).
LEASE = timedelta(minutes=5)
# Pending events older than this, on an account nobody drains, are drained by the sweep.
SWEEP_AFTER = timedelta(seconds=60)


def _insert_ignoring_conflicts(model: type[models.Model], objs: Sequence[models.Model],
                               returning: str) -> list[Any]:
    """Insert `objs` in one statement, skipping rows that hit a unique constraint; the
    `returning` column of the rows inserted."""
    fields = list(model._meta.concrete_fields)
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, list(objs))
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [model._meta.get_field(returning)]
    [(sql, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def events_store(*, account: ChannelAccount, items: Sequence[InboundItem]) -> list[InboundEvent]:
    """Insert `items` of `account` as pending events; returns the new ones (a re-delivered
    event, already stored, is left out). One statement, no drain requested (see
    `inbound_store`). Run inside `tenant_scope(account.tenant)`."""
    if not items:
        return []
    now = timezone.now()
    events: dict[str, InboundEvent] = {}
    for item in items:
        event_id = item.event_id[:200]
        if event_id not in events:  # twice in one body: stored once
            events[event_id] = InboundEvent(
                tenant=account.tenant, account=account, event_id=event_id,
                kind=item.kind[:20], payload=item.payload, received_at=now)
    new = set(_insert_ignoring_conflicts(InboundEvent, list(events.values()), "event_id"))
    return [event for event_id, event in events.items() if event_id in new]


def inbound_store(*, account: ChannelAccount, items: Sequence[InboundItem]) -> list[InboundEvent]:
    """Store `items` of `account` (the webhook's work once the signature is checked); returns
    the ones that were new and, if there are any, asks for a drain of the account.

    Run inside `tenant_scope(account.tenant)`. The drain row is read once the events are
    committed (see the module's docstring): at once in the webhook, which runs outside a
    transaction; after commit when a caller holds one.
    """
    new = events_store(account=account, items=items)
    if new:
        tenant, account_id = account.tenant, account.pk

        def request() -> None:
            if current_tenant() == tenant:
                inbound_drain_request(tenant=tenant, account_id=account_id)
                return
            with tenant_scope(tenant):
                inbound_drain_request(tenant=tenant, account_id=account_id)

        transaction.on_commit(request)
    return new


def inbound_drain_request(*, tenant: Tenant, account_id: Any) -> bool:
    """Ask for a drain of `account_id`'s pending events: enqueue `drain_inbound` unless a
    drain is already requested. True if this call enqueued it.

    Call it after the events it is for are committed."""
    from tend.messaging.tasks import drain_inbound

    row = (InboundDrain.objects.filter(tenant=tenant, account_id=account_id)
           .values_list("requested_at").first())
    if row is not None and row[0] is not None:
        return False
    now = timezone.now()
    with transaction.atomic():
        if row is None:
            armed = bool(_insert_ignoring_conflicts(InboundDrain, [InboundDrain(
                tenant=tenant, account_id=account_id, requested_at=now)], "id"))
        else:
            armed = bool(InboundDrain.objects.filter(
                tenant=tenant, account_id=account_id, requested_at__isnull=True,
            ).update(requested_at=now, updated_at=now))
        if armed:
            enqueue_on_commit(drain_inbound, tenant, str(account_id))
    return armed


@dataclass
class DrainResult:
    """What one drain job did."""

    processed: int = 0
    ignored: int = 0
    failed: int = 0
    passes: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"processed": self.processed, "ignored": self.ignored, "failed": self.failed,
                "passes": self.passes}


def new_drainer_id() -> str:
    return f"{os.getpid()}-{get_random_string(10)}"


def inbound_drain(*, tenant: Tenant, account_id: Any, owner: str = "",
                  batch_size: int = DRAIN_BATCH) -> DrainResult:
    """Process every pending event of `account_id`, oldest first, until none is left; safe to
    run again and beside other drainers (one of them holds the account, the others return).
    Run inside `tenant_scope(tenant)`, outside a transaction."""
    owner = owner or new_drainer_id()
    result = DrainResult()
    account = ChannelAccount.objects.filter(tenant=tenant, pk=account_id).first()
    if account is None:
        return result
    provider = provider_for(account.kind)
    while taken := _lease_take(tenant, account, owner):
        result.passes += 1
        latest: datetime | None = None
        # After a drainer died (its lease ran out unreleased) the events it held are the
        # first pending ones: take them one at a time, each attempt counted in a commit of
        # its own first, so an event that kills its worker is given up after CRASH_LIMIT
        # tries instead of stopping the account's drain for good.
        careful = batch_size if taken == RECOVERED else 0
        try:
            while True:
                if careful:
                    careful -= 1
                    counted = _attempt_count(tenant, account, owner, result)
                    if counted is None:
                        return result
                    if counted == GAVE_UP:
                        continue
                    if not counted:
                        break
                    claimed = _drain_batch(tenant, account, provider, owner, 1, result,
                                           counted=True)
                else:
                    claimed = _drain_batch(tenant, account, provider, owner, batch_size,
                                           result)
                if claimed is None:  # the lease ran out and another drainer took over
                    return result
                if not claimed:
                    break
                latest = max(latest or claimed[-1], claimed[-1])
        except BaseException:
            _release_quietly(tenant, account, owner)
            raise
        _release(tenant, account, owner, latest)
        if not _pending_left(tenant, account):
            break
    return result


def _lease_take(tenant: Tenant, account: ChannelAccount, owner: str) -> str:
    """Hold `account` for `owner` (a free or run-out lease, or ours already): TAKEN, or
    RECOVERED when the lease ran out unreleased (its drainer died), "" when another holds
    it. The drain stays requested while it is held, so webhooks do not enqueue more jobs."""
    now = timezone.now()
    drains = InboundDrain.objects.filter(tenant=tenant, account=account)
    before = drains.values_list("lease_until", "leased_by").first()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(leased_by=owner)
    if drains.filter(free).update(
            lease_until=now + LEASE, leased_by=owner, updated_at=now,
            requested_at=Coalesce(F("requested_at"), Value(now, models.DateTimeField()))):
        died = (before is not None and before[0] is not None and before[0] < now
                and before[1] != owner)
        return RECOVERED if died else TAKEN
    if before is not None or drains.exists():
        return ""
    inserted = _insert_ignoring_conflicts(InboundDrain, [InboundDrain(
        tenant=tenant, account=account, requested_at=now, lease_until=now + LEASE,
        leased_by=owner)], "id")
    return TAKEN if inserted else ""


def _attempt_count(tenant: Tenant, account: ChannelAccount, owner: str,
                   result: DrainResult) -> bool | str | None:
    """Count an attempt on the next pending event, committed before it is processed: True,
    GAVE_UP when it had CRASH_LIMIT attempts already (it is marked FAILED), False when
    nothing is pending, None when the lease is no longer ours."""
    with transaction.atomic():
        now = timezone.now()
        if not InboundDrain.objects.filter(tenant=tenant, account=account,
                                           leased_by=owner).update(lease_until=now + LEASE):
            return None
        event = (InboundEvent.objects.select_for_update(skip_locked=True)
                 .filter(tenant=tenant, account=account, status=InboundStatus.PENDING)
                 .order_by("received_at", "id").only("pk", "attempts").first())
        if event is None:
            return False
        row = InboundEvent.objects.filter(tenant=tenant, pk=event.pk)
        if event.attempts >= CRASH_LIMIT:
            logger.error("inbound event %s given up: its worker stopped %d times",
                         event.pk, event.attempts)
            row.update(status=InboundStatus.FAILED, processed_at=now, updated_at=now,
                       error=CRASHED % {"times": event.attempts})
            result.failed += 1
            return GAVE_UP
        row.update(attempts=F("attempts") + 1, updated_at=now)
    return True


def _drain_batch(tenant: Tenant, account: ChannelAccount, provider: Provider, owner: str,
                 batch_size: int, result: DrainResult, *, counted: bool = False
                 ) -> list[datetime] | None:
    """Claim and process up to `batch_size` pending events in one transaction; their
    `received_at`s (empty: none left), or None when the lease is no longer ours. `counted`:
    the attempt was counted already (`_attempt_count`)."""
    with transaction.atomic():
        now = timezone.now()
        if not InboundDrain.objects.filter(tenant=tenant, account=account,
                                           leased_by=owner).update(lease_until=now + LEASE):
            return None
        events = list(InboundEvent.objects.select_for_update(skip_locked=True)
                      .filter(tenant=tenant, account=account, status=InboundStatus.PENDING)
                      .order_by("received_at", "id")[:batch_size])
        done: dict[str, list[Any]] = {InboundStatus.PROCESSED: [], InboundStatus.IGNORED: []}
        failed: list[tuple[Any, str]] = []
        for event in events:
            try:
                with transaction.atomic():
                    status = _process(tenant, account, provider, event)
            except Exception as exc:  # a bad event must not block the others; it is kept
                logger.exception("inbound event %s failed", event.pk)
                failed.append((event.pk, f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]))
            else:
                done[status].append(event.pk)
        now = timezone.now()
        pending = InboundEvent.objects.filter(tenant=tenant, status=InboundStatus.PENDING)
        attempts = F("attempts") + (0 if counted else 1)
        for status, ids in done.items():
            if ids:
                pending.filter(pk__in=ids).update(
                    status=status, attempts=attempts, error="", processed_at=now,
                    updated_at=now)
        for pk, error in failed:
            pending.filter(pk=pk).update(
                status=InboundStatus.FAILED, attempts=attempts, error=error,
                processed_at=now, updated_at=now)
    result.processed += len(done[InboundStatus.PROCESSED])
    result.ignored += len(done[InboundStatus.IGNORED])
    result.failed += len(failed)
    return [event.received_at for event in events]


def _process(tenant: Tenant, account: ChannelAccount, provider: Provider,
             event: InboundEvent) -> str:
    """Apply one event: messages join their conversation, statuses move their message."""
    from tend.messaging.services.inbound import apply_message, message_apply_status

    results = provider.parse(account, InboundItem(event.event_id, event.kind, event.payload))
    for parsed in results:
        if isinstance(parsed, ParsedMessage):
            apply_message(tenant, account, parsed)
        elif isinstance(parsed, StatusUpdate):
            message_apply_status(tenant=tenant, account=account, update=parsed)
    return InboundStatus.PROCESSED if results else InboundStatus.IGNORED


def _release(tenant: Tenant, account: ChannelAccount, owner: str,
             latest: datetime | None) -> None:
    """End the drain: no longer requested, no longer held (one commit)."""
    now = timezone.now()
    with transaction.atomic():
        InboundDrain.objects.filter(tenant=tenant, account=account, leased_by=owner).update(
            requested_at=None, lease_until=None, leased_by="", updated_at=now)
        if latest is not None:
            ChannelAccount.objects.filter(tenant=tenant, pk=account.pk).filter(
                Q(last_inbound_at__isnull=True) | Q(last_inbound_at__lt=latest),
            ).update(last_inbound_at=latest)


def _release_quietly(tenant: Tenant, account: ChannelAccount, owner: str) -> None:
    """After a failure: let the next webhook request a drain again, if the database lets us."""
    try:
        _release(tenant, account, owner, None)
    except Exception:
        logger.exception("inbound drain of %s: could not release", account.pk)


def _pending_left(tenant: Tenant, account: ChannelAccount) -> bool:
    """Is any pending event of `account` left that no other drainer holds?"""
    if not connection.features.has_select_for_update_skip_locked:  # SQLite: one writer
        return InboundEvent.objects.filter(tenant=tenant, account=account,
                                           status=InboundStatus.PENDING).exists()
    with transaction.atomic():
        return (InboundEvent.objects.select_for_update(skip_locked=True)
                .filter(tenant=tenant, account=account, status=InboundStatus.PENDING)
                .values_list("pk")[:1].first()) is not None


def inbound_retry(*, tenant: Tenant, event: InboundEvent) -> None:
    """Put a failed event back in line; the account's drain takes it after commit."""
    InboundEvent.objects.filter(tenant=tenant, pk=event.pk).update(
        status=InboundStatus.PENDING, error="", updated_at=timezone.now())
    account_id = event.account_id

    def request() -> None:
        with tenant_scope(tenant):
            inbound_drain_request(tenant=tenant, account_id=account_id)

    transaction.on_commit(request)


def inbound_sweep(*, now: datetime | None = None) -> int:
    """Request a drain again for accounts whose pending events have waited `SWEEP_AFTER`
    with nobody draining them (a crashed worker, a job lost with its process); the number of
    drains requested. Runs under `system_scope()` (the tick), across organizations."""
    from tend.messaging.tasks import drain_inbound

    now = now or timezone.now()
    cutoff = now - SWEEP_AFTER
    # Inactive organizations' events wait (their drain jobs do nothing) until reactivated.
    # No ordering: `Meta.ordering` would add `received_at` to the DISTINCT (a row per event).
    waiting = set(InboundEvent.objects.filter(status=InboundStatus.PENDING,
                                              received_at__lt=cutoff, tenant__is_active=True)
                  .order_by().values_list("tenant_id", "account_id").distinct())
    busy = set(InboundDrain.objects.filter(
        Q(lease_until__gte=now) | Q(lease_until__isnull=True, requested_at__gte=cutoff),
    ).values_list("tenant_id", "account_id"))
    requested = 0
    for tenant_id, account_id in sorted(waiting - busy):
        with transaction.atomic():
            updated = InboundDrain.objects.filter(
                tenant_id=tenant_id, account_id=account_id).update(requested_at=now,
                                                                    updated_at=now)
            if not updated:
                _insert_ignoring_conflicts(InboundDrain, [InboundDrain(
                    tenant_id=tenant_id, account_id=account_id, requested_at=now)], "id")
            enqueue_on_commit(drain_inbound, tenant_id, str(account_id))
        requested += 1
        logger.warning("inbound events of account %s waited over %s: drain requested again",
                       account_id, SWEEP_AFTER)
    return requested
