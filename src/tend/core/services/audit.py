"""Writing and verifying the audit log's hash chain."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from tend.core.actors import Actor
from tend.core.models import AuditLog, Tenant
from tend.core.selectors.audit import AuditFilters, audit_entries
from tend.core.services.guards import check_perm
from tend.core.tenancy import tenant_scope

GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), default=str).encode()


def _json_safe(value: Any) -> Any:
    """`value` as plain JSON that reads back from SQLite and PostgreSQL (jsonb) unchanged.

    Non-JSON values become strings; integral floats become ints (jsonb prints 1e20 as an
    integer, which would otherwise change the hash); NaN and infinities become strings.
    """
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_json_safe(v) for v in value]
        return sorted(items, key=_canonical_item) if isinstance(value, set | frozenset) else items
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    return str(value)


def _canonical_item(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _normalize_ip(ip: str | None) -> str | None:
    """The address as the database will give it back, or None when it is not an address."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if address.version == 6:
        return clean_ipv6_address(str(address))
    return str(address)


def _lock_chain(tenant: Tenant) -> None:
    """Serialize writers of one tenant's chain until the surrounding transaction ends.

    PostgreSQL: a transaction-level advisory lock keyed by the tenant, so no table row is
    locked (locking the tenant row would make every insert that references the tenant wait).
    Under READ COMMITTED the next statement then sees the entry the previous holder committed.
    SQLite: transactions begin IMMEDIATE (see settings), so the writer lock is already held.
    """
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"tend.audit:{tenant.pk}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


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

    Call inside the transaction that makes the change (and inside `tenant_scope(tenant)` or
    `system_scope()`), so the entry exists exactly when the change does. Concurrent writers of
    one tenant are serialized until their transactions end (see `_lock_chain`); the unique
    (tenant, seq) constraint is the backstop, so a chain can fail a write but never fork.
    `changes` should hold ids rather than personal data; values that are not JSON are stored
    as strings.
    """
    ip = _normalize_ip(actor.ip)
    with transaction.atomic():
        _lock_chain(tenant)
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
            changes=_json_safe(changes or {}),
            ip=ip,
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
            ip=ip,
            user_agent=payload["user_agent"],
            created_at=now,
            prev_hash=prev_hash,
            hash=compute_hash(prev_hash, payload),
        )


def audit_record_many(*, tenant: Tenant, actor: Actor,
                      entries: list[tuple[str, str, Any, dict[str, Any] | None]]
                      ) -> list[AuditLog]:
    """Append several entries — `(action, entity_type, entity_id, changes)` each, in order —
    to `tenant`'s chain with one lock, one read of the chain's head and one insert.

    The same chain as `audit_record` (each entry hashes the previous one), built in memory.
    Meant for batch writers: they collect their entries and call this last in their
    transaction, so the chain's lock (held until commit) is taken only at the end.
    """
    if not entries:
        return []
    ip = _normalize_ip(actor.ip)
    user_agent = (actor.user_agent or "")[:300]
    label = actor.label[:200]
    with transaction.atomic():
        _lock_chain(tenant)
        last = (
            AuditLog.objects.filter(tenant=tenant).order_by("-seq").values("seq", "hash").first()
        )
        seq = last["seq"] if last else 0
        prev_hash = last["hash"] if last else GENESIS
        now = timezone.now()
        rows = []
        for action, entity_type, entity_id, changes in entries:
            seq += 1
            payload = entry_payload(
                tenant_id=tenant.pk, seq=seq, actor_type=actor.kind, actor_id=actor.id,
                actor_label=label, action=action, entity_type=entity_type,
                entity_id=str(entity_id or ""), changes=_json_safe(changes or {}), ip=ip,
                user_agent=user_agent, created_at=now,
            )
            digest = compute_hash(prev_hash, payload)
            rows.append(AuditLog(
                tenant=tenant, seq=seq, actor_type=payload["actor_type"],
                actor_id=payload["actor_id"], actor_label=label, action=action,
                entity_type=entity_type, entity_id=payload["entity_id"],
                changes=payload["changes"], ip=ip, user_agent=user_agent, created_at=now,
                prev_hash=prev_hash, hash=digest,
            ))
            prev_hash = digest
        return AuditLog.objects.bulk_create(rows, batch_size=500)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of recomputing one organization's chain.

    `head_seq`/`head_hash` describe the last entry checked; recording them elsewhere lets an
    operator notice later that entries were cut off the end, which no chain can show alone.
    """

    tenant_id: str
    tenant_slug: str
    checked: int
    first_broken_seq: int | None
    reason: str
    head_seq: int = 0
    head_hash: str = GENESIS

    @property
    def ok(self) -> bool:
        return self.first_broken_seq is None

    @property
    def name(self) -> str:
        return self.tenant_slug or self.tenant_id


def _verify_rows(tenant_id: Any, tenant_slug: str) -> ChainReport:
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0

    def broken(seq: int, reason: str) -> ChainReport:
        return ChainReport(str(tenant_id), tenant_slug, checked, seq, reason,
                           expected_seq - 1, prev_hash)

    rows = AuditLog.objects.filter(tenant_id=tenant_id).order_by("seq").iterator(chunk_size=2000)
    for row in rows:
        checked += 1
        if row.seq != expected_seq:
            return broken(expected_seq, f"entry #{expected_seq} is missing (next is #{row.seq})")
        if row.prev_hash != prev_hash:
            return broken(row.seq, f"entry #{row.seq} does not follow entry #{row.seq - 1} "
                                   f"(its prev_hash differs: #{row.seq - 1} was replaced?)")
        payload = entry_payload(
            tenant_id=row.tenant_id, seq=row.seq, actor_type=row.actor_type,
            actor_id=row.actor_id, actor_label=row.actor_label, action=row.action,
            entity_type=row.entity_type, entity_id=row.entity_id, changes=row.changes,
            ip=row.ip, user_agent=row.user_agent, created_at=row.created_at,
        )
        if compute_hash(prev_hash, payload) != row.hash:
            return broken(row.seq, f"entry #{row.seq} was altered (its content does not match "
                                   f"its hash)")
        prev_hash = row.hash
        expected_seq += 1
    return ChainReport(str(tenant_id), tenant_slug, checked, None, "", expected_seq - 1,
                       prev_hash)


def audit_verify_chain(*, tenant: Tenant) -> ChainReport:
    """Recompute `tenant`'s chain from the start; report the first entry that does not hold.

    An entry is broken when its sequence number skips (a row was deleted), its `prev_hash` is
    not the previous entry's hash (the previous row was replaced), or its `hash` does not match
    its content (the row was edited). Call inside `tenant_scope(tenant)` or `system_scope()`.
    """
    return _verify_rows(tenant.pk, tenant.slug)


def audit_verify_all(*, tenant: Tenant | None = None) -> list[ChainReport]:
    """Verify every organization's chain (or only `tenant`'s), including chains whose
    organization row is gone. Call inside `system_scope()`."""
    if tenant is not None:
        return [audit_verify_chain(tenant=tenant)]
    slugs = {str(pk): slug for pk, slug in Tenant.objects.values_list("pk", "slug")}
    chain_ids = {
        str(pk) for pk in AuditLog.objects.order_by().values_list("tenant_id", flat=True).distinct()
    }
    ids = sorted(set(slugs) | chain_ids, key=lambda i: (slugs.get(i, "\uffff" + i)))
    return [_verify_rows(i, slugs.get(i, "")) for i in ids]


# --- CSV export ------------------------------------------------------------------------------

CSV_HEADER = ("seq", "created_at", "actor_type", "actor_id", "actor", "action", "entity_type",
              "entity_id", "changes", "ip", "user_agent", "prev_hash", "hash")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """`value` as a CSV cell a spreadsheet will not run: text starting with = + - @ tab or CR
    gets a leading apostrophe (OWASP's advice against CSV injection)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


def _csv_row(entry: AuditLog) -> list[str]:
    values = (
        entry.seq, entry.created_at.astimezone(UTC).isoformat(), entry.actor_type,
        entry.actor_id, entry.actor_label, entry.action, entry.entity_type, entry.entity_id,
        json.dumps(entry.changes, sort_keys=True, ensure_ascii=False), entry.ip,
        entry.user_agent, entry.prev_hash, entry.hash,
    )
    return [csv_cell(v) for v in values]


def audit_export(*, tenant: Tenant, actor: Actor, filters: AuditFilters) -> Iterator[list[str]]:
    """Rows (header first) of `tenant`'s entries matching `filters`, for a CSV download.

    Needs `audit.export`. The export itself is recorded ("audit.exported", with the filters)
    before any row is read. The rows are read lazily, each time inside `tenant_scope(tenant)`,
    so the iterator may be consumed after the request's scope has ended (a streamed response).
    """
    check_perm(actor, "audit.export")
    queryset = audit_entries(tenant=tenant, filters=filters)  # validates the filters first
    audit_record(tenant=tenant, actor=actor, action="audit.exported", entity_type="audit",
                 changes={"filters": filters.as_params()})

    def rows() -> Iterator[list[str]]:
        yield list(CSV_HEADER)
        with tenant_scope(tenant):
            for entry in queryset.iterator(chunk_size=1000):
                yield _csv_row(entry)

    return rows()
