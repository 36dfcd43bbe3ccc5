"""Ingestion sources: systems that post signed activities to `/hooks/sources/<key>`.

The signing secret is made here, shown to the caller once, and stored encrypted
(`tend.core.crypto`) because verifying a signature needs it back.

Signature: `X-Tend-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>` with
`X-Tend-Timestamp: <unix seconds>`, accepted within `TOLERANCE_SECONDS` of our clock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.crypto import InvalidToken, decrypt, encrypt
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.changes import save_changes
from tend.core.services.guards import check_perm
from tend.people.models import IngestionSource

TOLERANCE_SECONDS = 300
SIGNATURE_PREFIX = "sha256="
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
MAX_NAME = 100


@dataclass(frozen=True)
class SourceActor(Actor):
    """The system acting for an ingestion source: it holds every permission (the signature
    authenticated the delivery) and is labelled with the source's name in activities and the
    audit log."""

    source_name: str = ""

    @property
    def label(self) -> str:
        return f"source {self.source_name}"


def source_actor(source: IngestionSource) -> Actor:
    """The actor a delivery from `source` runs as."""
    return SourceActor(kind="system", source_name=source.name)


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _clean_name(tenant: Tenant, name: Any, *, exclude: Any = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationFailed(fields={"name": [_("This field is required.")]})
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise ValidationFailed(fields={"name": [_("Use at most %(limit)d characters.")
                                                % {"limit": MAX_NAME}]})
    taken = IngestionSource.objects.filter(tenant=tenant, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationFailed(fields={"name": [_("Another source has this name.")]})
    return name


def source_create(*, tenant: Tenant, actor: Actor, name: str) -> tuple[IngestionSource, str]:
    """Create an active source; returns `(source, secret)`. The secret is not retrievable
    later in clear (rotate it if lost). Needs `activities.manage`; names are unique per
    organization (case-insensitive)."""
    check_perm(actor, "activities.manage")
    name = _clean_name(tenant, name)
    secret = _new_secret()
    with transaction.atomic():
        source = IngestionSource.objects.create(
            tenant=tenant, name=name, key=secrets.token_urlsafe(32),
            secret_encrypted=encrypt(secret), created_by=actor.acting_user,
            updated_by=actor.acting_user,
        )
        audit_record(tenant=tenant, actor=actor, action="ingestion_source.created",
                     entity_type="ingestion_source", entity_id=source.pk,
                     changes={"name": name})
    return source, secret


def source_update(*, tenant: Tenant, actor: Actor, source: IngestionSource,
                  name: str | None = None, is_active: bool | None = None) -> IngestionSource:
    """Rename and/or (re)activate a source. Needs `activities.manage`."""
    check_perm(actor, "activities.manage")
    changes: dict[str, Any] = {}
    if name is not None:
        clean = _clean_name(tenant, name, exclude=source.pk)
        if clean != source.name:
            changes["name"] = clean
    if is_active is not None and bool(is_active) != source.is_active:
        changes["is_active"] = bool(is_active)
    if not changes:
        return source
    with transaction.atomic():
        save_changes(source, changes, actor=actor)
        audit_record(tenant=tenant, actor=actor, action="ingestion_source.updated",
                     entity_type="ingestion_source", entity_id=source.pk, changes=changes)
    return source


def source_deactivate(*, tenant: Tenant, actor: Actor,
                      source: IngestionSource) -> IngestionSource:
    """Stop accepting deliveries from `source` (its webhook answers 403). Needs
    `activities.manage`; deactivating twice is harmless."""
    return source_update(tenant=tenant, actor=actor, source=source, is_active=False)


def source_rotate_secret(*, tenant: Tenant, actor: Actor,
                         source: IngestionSource) -> tuple[IngestionSource, str]:
    """Replace the signing secret; the old one stops working at once. Returns
    `(source, new secret)`. Needs `activities.manage`."""
    check_perm(actor, "activities.manage")
    secret = _new_secret()
    with transaction.atomic():
        source.secret_encrypted = encrypt(secret)
        source.updated_by = actor.acting_user
        source.save(update_fields=["secret_encrypted", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="ingestion_source.secret_rotated",
                     entity_type="ingestion_source", entity_id=source.pk, changes={})
    return source, secret


def source_delete(*, tenant: Tenant, actor: Actor, source: IngestionSource) -> None:
    """Delete a source; its log rows stay (they keep the source's name). Needs
    `activities.manage`."""
    check_perm(actor, "activities.manage")
    with transaction.atomic():
        source_id = source.pk
        source.delete()
        audit_record(tenant=tenant, actor=actor, action="ingestion_source.deleted",
                     entity_type="ingestion_source", entity_id=source_id, changes={})


def signature_compute(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Tend-Signature` value for `body` sent at `timestamp` (unix seconds, as sent)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signature_check(*, source: IngestionSource | None, timestamp: str | None,
                    signature: str | None, body: bytes, now: float | None = None) -> str:
    """Why a delivery must be refused, or "" when it is authentic and fresh.

    Runs before the body is parsed. The comparison is constant-time, and an unknown source
    still costs one HMAC, so timing tells nothing about which keys exist. Reasons:
    "signature" (unknown or inactive source, missing or wrong signature) or "timestamp"
    (missing, malformed, or more than `TOLERANCE_SECONDS` away from `now`).
    """
    secret = ""
    if source is not None:
        try:
            secret = decrypt(source.secret_encrypted)
        except InvalidToken:
            secret = ""
    expected = signature_compute(secret or "no-such-source", timestamp or "", body)
    matches = hmac.compare_digest(expected.encode(), (signature or "").strip().encode())
    if source is None or not source.is_active or not secret or not matches:
        return "signature"
    try:
        sent_at = int((timestamp or "").strip())
    except ValueError:
        return "timestamp"
    if abs((time.time() if now is None else now) - sent_at) > TOLERANCE_SECONDS:
        return "timestamp"
    return ""
