"""Writing and verifying the audit log's hash chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import AuditLog, Tenant

GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_payload(*, tenant_id: Any, seq: int, actor_type: str, actor_id: str, actor_label: str,
                  action: str, entity_type: str, entity_id: str, changes: Any, ip: str | None,
                  user_agent: str, created_at: datetime) -> dict[str, Any]:
    return {
        "tenant": str(tenant_id),
        "seq": seq,
        "actor_type": actor_type,
        "actor_id": actor_id,
        "actor_label": actor_label,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "changes": changes,
        "ip": ip,
        "user_agent": user_agent,
        "created_at": created_at.astimezone(UTC).isoformat(),
    }


def compute_hash(prev_hash: str, payload: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + _canonical(payload)).hexdigest()


def audit_record(
    *,
    tenant: Tenant,
    actor: Actor,
    action: str,
    entity_type: str = "",
    entity_id: Any = "",
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one entry to `tenant`'s audit chain.

    Call inside the transaction that makes the change, so the entry exists exactly when the
    change does. Entries of one tenant are serialized by locking the tenant row.
    """
    with transaction.atomic():
        # Serialize writers of one tenant's chain (PostgreSQL); SQLite has one writer anyway.
        Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk").first()
        last = (
            AuditLog.objects.filter(tenant=tenant).order_by("-seq").values("seq", "hash").first()
        )
        seq = (last["seq"] + 1) if last else 1
        prev_hash = last["hash"] if last else GENESIS
        now = timezone.now()
        payload = entry_payload(
            tenant_id=tenant.pk,
            seq=seq,
            actor_type=actor.kind,
            actor_id=actor.id,
            actor_label=actor.label[:200],
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id or ""),
            changes=json.loads(_canonical(changes or {})),
            ip=actor.ip,
            user_agent=(actor.user_agent or "")[:300],
            created_at=now,
        )
        return AuditLog.objects.create(
            tenant=tenant,
            seq=seq,
            actor_type=payload["actor_type"],
            actor_id=payload["actor_id"],
            actor_label=payload["actor_label"],
            action=action,
            entity_type=entity_type,
            entity_id=payload["entity_id"],
            changes=payload["changes"],
            ip=actor.ip,
            user_agent=payload["user_agent"],
            created_at=now,
            prev_hash=prev_hash,
            hash=compute_hash(prev_hash, payload),
        )


@dataclass(frozen=True)
class ChainReport:
    tenant_id: str
    checked: int
    first_broken_seq: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None


def audit_verify_chain(*, tenant: Tenant) -> ChainReport:
    """Recompute `tenant`'s chain from the start; report the first entry that does not hold.

    An entry is broken when its sequence number skips, its `prev_hash` is not the previous
    entry's hash, or its `hash` does not match its content.
    """
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    rows = AuditLog.objects.filter(tenant=tenant).order_by("seq").iterator(chunk_size=2000)
    for row in rows:
        checked += 1
        if row.seq != expected_seq:
            return ChainReport(str(tenant.pk), checked, expected_seq,
                               f"entry #{expected_seq} is missing (found #{row.seq})")
        if row.prev_hash != prev_hash:
            return ChainReport(str(tenant.pk), checked, row.seq,
                               f"entry #{row.seq} does not follow entry #{row.seq - 1}")
        payload = entry_payload(
            tenant_id=row.tenant_id, seq=row.seq, actor_type=row.actor_type,
            actor_id=row.actor_id, actor_label=row.actor_label, action=row.action,
            entity_type=row.entity_type, entity_id=row.entity_id, changes=row.changes,
            ip=row.ip, user_agent=row.user_agent, created_at=row.created_at,
        )
        if compute_hash(prev_hash, payload) != row.hash:
            return ChainReport(str(tenant.pk), checked, row.seq,
                               f"entry #{row.seq} was altered")
        prev_hash = row.hash
        expected_seq += 1
    return ChainReport(str(tenant.pk), checked, None, "")
