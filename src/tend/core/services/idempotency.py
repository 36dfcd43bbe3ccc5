"""`Idempotency-Key` support for API POST requests.

A client that sends `Idempotency-Key: <key>` with a POST may retry it safely: the first request
claims the key (an `IdempotencyRecord` with no response yet), runs, and stores its response; a
repeat with the same method, path and body gets the stored status and body back. The unique
constraint on (tenant, principal, key) decides races between concurrent first requests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.errors import Conflict, ValidationFailed
from tend.core.models import IdempotencyRecord, Tenant
from tend.core.tenancy import system_scope

RETENTION = timedelta(hours=24)
# A claim whose request never finished (the process died) is given up after this long, so
# the client can retry with the same key instead of getting 409 for a day.
ABANDONED_AFTER = timedelta(minutes=10)
MAX_KEY_LENGTH = 255
HEADER = "Idempotency-Key"


def idempotency_request_hash(*, method: str, path: str, body: bytes) -> str:
    """What "the same request" means: the same method, full path and body bytes."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode())
    digest.update(b"\n")
    digest.update(path.encode())
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


@dataclass(frozen=True)
class IdempotencyClaim:
    """The outcome of `idempotency_begin`: either a fresh claim to run, or a stored replay."""

    record: IdempotencyRecord
    replay: bool


def _validate_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationFailed(
            fields={HEADER: [f"Use 1 to {MAX_KEY_LENGTH} printable characters."]}
        )


def idempotency_begin(*, tenant: Tenant, principal: str, key: str, method: str, path: str,
                      request_hash: str) -> IdempotencyClaim:
    """Claim `key` for `principal` in `tenant`, or find the request that already claimed it.

    Call inside `tenant_scope(tenant)` and outside any transaction of the request's own work, so
    a concurrent repeat sees the claim at once. Raises `ValidationFailed` (422) when the key was
    used for a different request, `Conflict` (409) while the first request is still running.
    """
    _validate_key(key)
    now = timezone.now()
    mine = IdempotencyRecord.objects.filter(tenant=tenant, principal=principal, key=key)
    # Expired or abandoned claims no longer count; drop them before claiming afresh.
    mine.filter(created_at__lt=now - RETENTION).delete()
    mine.filter(response_status__isnull=True, created_at__lt=now - ABANDONED_AFTER).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                tenant=tenant, principal=principal, key=key, method=method.upper(),
                path=path[:500], request_hash=request_hash,
            )
        return IdempotencyClaim(record=record, replay=False)
    except IntegrityError:
        pass
    existing = mine.first()
    if existing is None:  # the other claim vanished between our insert and this read
        raise Conflict(_("A request with this idempotency key is in progress; retry shortly."))
    if existing.request_hash != request_hash:
        raise ValidationFailed(
            "This idempotency key was already used for a different request.",
            fields={HEADER: [_("Already used for a different request.")]},
        )
    if existing.response_status is None:
        raise Conflict(_("A request with this idempotency key is still in progress."))
    return IdempotencyClaim(record=existing, replay=True)


def idempotency_finish(*, record: IdempotencyRecord, status: int, body: bytes,
                       content_type: str) -> None:
    """Store the response of a claimed request so repeats replay it.

    Server errors (5xx) are not stored: the claim is released so the client may retry.
    """
    if status >= 500:
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        response_status=status, response_body=body, response_content_type=content_type[:100]
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Drop a claim whose request ended without a response worth replaying."""
    IdempotencyRecord.objects.filter(pk=record.pk).delete()


def idempotency_prune() -> int:
    """Delete records older than 24 hours in every organization. Returns how many went.

    System code: runs from the periodic tick, across tenants.
    """
    cutoff = timezone.now() - RETENTION
    with system_scope():
        deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
