"""The audit log: entries newest first, with the viewer's filters; one entry."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.selectors.audit import AuditFilters, audit_entries, audit_entry_get

router = Router(tags=["Audit log"])


class AuditEntryOut(Schema):
    id: UUID
    seq: int = Field(description="The entry's number in the organization's chain, from 1.")
    created_at: datetime
    actor_type: str = Field(description="user, api_key or system")
    actor_id: str
    actor_label: str
    action: str
    entity_type: str
    entity_id: str
    changes: dict[str, Any]
    ip: str | None
    user_agent: str
    prev_hash: str
    hash: str = Field(description="SHA-256 over prev_hash and the entry's canonical JSON.")


class AuditFilter(Schema):
    actor: str | None = Field(None, max_length=64,
                              description='A user or API key id, or "system".')
    action: str | None = Field(None, max_length=100,
                               description='Exact, or a prefix ending in "." (e.g. "tag.").')
    entity_type: str | None = Field(None, max_length=100)
    entity_id: str | None = Field(None, max_length=64)
    date_from: date | None = Field(None, description="First day, in the organization's zone.")
    date_to: date | None = Field(None, description="Last day, included.")


@router.get("/audit", response=Page[AuditEntryOut])
def audit_list(request: ApiRequest, page: Query[PageParams], filters: Query[AuditFilter]):
    """Entries newest first. Needs `audit.view`."""
    require(request, "audit.view")
    entries = audit_entries(tenant=request.tenant, filters=AuditFilters(
        actor=filters.actor or "", action=filters.action or "",
        entity_type=filters.entity_type or "", entity_id=filters.entity_id or "",
        date_from=filters.date_from, date_to=filters.date_to,
    ))
    return paginate(entries, page, ordering=("-seq",))


@router.get("/audit/{entry_id}", response=AuditEntryOut)
def audit_get(request: ApiRequest, entry_id: UUID):
    """One entry. Needs `audit.view`."""
    require(request, "audit.view")
    return audit_entry_get(tenant=request.tenant, entry_id=entry_id)
