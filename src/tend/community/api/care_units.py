"""Units and unit memberships."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.community.models import UnitRole
from tend.community.selectors.care_units import (
    membership_get,
    unit_get,
    unit_list,
    unit_members,
)
from tend.community.services.care_units import (
    unit_create,
    unit_delete,
    unit_membership_add,
    unit_membership_end,
    unit_update,
)
from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.people.api._contact_page import contact_in_body

router = Router(tags=["Units"])


class UnitOut(Schema):
    id: UUID
    name: str
    kind: str
    parent_id: UUID | None
    depth: int
    path: str = Field(description="Ids (hex) from the root, each followed by '/'.")
    created_at: datetime


class UnitIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    kind: str = Field("", max_length=40)
    parent_id: UUID | None = None


class UnitPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    kind: str | None = Field(None, max_length=40)
    parent_id: UUID | None = Field(None, description="Move under this unit (with `move`).")
    move: bool = False


class MembershipOut(Schema):
    id: UUID
    unit_id: UUID
    contact_id: UUID
    contact_name: str
    role: str
    since: date
    until: date | None
    scope_staff: bool

    @staticmethod
    def resolve_contact_name(obj: Any) -> str:
        return str(obj.contact)


class MembershipIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID
    role: UnitRole = UnitRole.MEMBER
    since: date | None = None
    until: date | None = None
    scope_staff: bool = False


class MembershipEnd(Schema):
    model_config = ConfigDict(extra="forbid")

    until: date


class MembersQuery(Schema):
    subtree: bool = False
    include_past: bool = False


def _parent(request: ApiRequest, parent_id: UUID | None) -> Any:
    if parent_id is None:
        return None
    try:
        return unit_get(tenant=request.tenant, unit_id=parent_id)
    except NotFound:
        raise ValidationFailed(fields={"parent_id": ["Choose a unit of this organization."]}
                               ) from None


@router.get("/community/units", response=Page[UnitOut])
def units_list(request: ApiRequest, page: Query[PageParams]) -> Any:
    """Every unit, in tree order. Needs `units.view`."""
    require(request, "units.view")
    return paginate(unit_list(tenant=request.tenant), page, ordering=("path", "id"))


@router.post("/community/units", response={201: UnitOut})
def units_create(request: ApiRequest, payload: UnitIn) -> Any:
    """Add a unit (under `parent_id`, or a root). Needs `units.change`."""
    actor = require(request, "units.change")
    unit = unit_create(tenant=request.tenant, actor=actor, name=payload.name, kind=payload.kind,
                       parent=_parent(request, payload.parent_id))
    return Status(201, unit)


@router.get("/community/units/{unit_id}", response=UnitOut)
def units_get(request: ApiRequest, unit_id: UUID) -> Any:
    require(request, "units.view")
    return unit_get(tenant=request.tenant, unit_id=unit_id)


@router.patch("/community/units/{unit_id}", response=UnitOut)
def units_update(request: ApiRequest, unit_id: UUID, payload: UnitPatch) -> Any:
    """Rename, or move with `move: true` (its subtree follows). Needs `units.change`."""
    actor = require(request, "units.change")
    unit = unit_get(tenant=request.tenant, unit_id=unit_id)
    return unit_update(tenant=request.tenant, actor=actor, unit=unit, name=payload.name,
                       kind=payload.kind, parent=_parent(request, payload.parent_id),
                       move=payload.move)


@router.delete("/community/units/{unit_id}", response={204: None})
def units_delete(request: ApiRequest, unit_id: UUID) -> Any:
    actor = require(request, "units.change")
    unit_delete(tenant=request.tenant, actor=actor,
                unit=unit_get(tenant=request.tenant, unit_id=unit_id))
    return Status(204, None)


@router.get("/community/units/{unit_id}/members", response=Page[MembershipOut])
def units_members(request: ApiRequest, unit_id: UUID, page: Query[PageParams],
                  filters: Query[MembersQuery]) -> Any:
    """The unit's current members (`subtree`: also of the units inside it). Needs
    `units.view`."""
    actor = require(request, "units.view")
    unit = unit_get(tenant=request.tenant, unit_id=unit_id)
    return paginate(unit_members(tenant=request.tenant, unit=unit, subtree=filters.subtree,
                                 include_past=filters.include_past, actor=actor), page,
                    ordering=("id",))


@router.post("/community/units/{unit_id}/members", response={201: MembershipOut})
def units_members_add(request: ApiRequest, unit_id: UUID, payload: MembershipIn) -> Any:
    actor = require(request, "units.change")
    unit = unit_get(tenant=request.tenant, unit_id=unit_id)
    contact = contact_in_body(request, payload.contact_id)
    membership = unit_membership_add(
        tenant=request.tenant, actor=actor, unit=unit, contact=contact,  # type: ignore[arg-type]
        role=payload.role, since=payload.since, until=payload.until,
        scope_staff=payload.scope_staff)
    return Status(201, membership)


@router.post("/community/unit-memberships/{membership_id}/end", response=MembershipOut)
def memberships_end(request: ApiRequest, membership_id: UUID, payload: MembershipEnd) -> Any:
    actor = require(request, "units.change")
    membership = membership_get(tenant=request.tenant, membership_id=membership_id)
    return unit_membership_end(tenant=request.tenant, actor=actor, membership=membership,
                               until=payload.until)
