"""Saved contact list views: the caller's own and the shared ones; create, change, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.people.selectors.contacts import savedview_get, savedview_list
from tend.people.services.savedviews import (
    savedview_create,
    savedview_delete,
    savedview_update,
)

router = Router(tags=["Saved views"])


class SavedViewOut(Schema):
    id: UUID
    name: str
    is_shared: bool
    owner_id: UUID
    is_mine: bool = Field(description="True when the caller owns the view.")
    search: str
    filters: dict[str, Any] = Field(description="As the contacts list takes them.")
    columns: list[str]
    sort: str
    created_at: datetime
    updated_at: datetime


class SavedViewIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    search: str = Field("", max_length=200)
    filters: dict[str, Any] = Field(default_factory=dict)
    columns: list[str] = Field(default_factory=list)
    sort: str = Field("", max_length=50)
    is_shared: bool = Field(False, description="Shared with everyone (needs contacts.manage).")


class SavedViewPatch(Schema):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100)
    search: str | None = Field(None, max_length=200)
    filters: dict[str, Any] | None = None
    columns: list[str] | None = None
    sort: str | None = Field(None, max_length=50)
    is_shared: bool | None = None


class SavedViewFilter(Schema):
    mine: bool | None = Field(None, description="true: only mine; false: only others' shared.")


def _out(request: ApiRequest, view: Any) -> dict[str, Any]:
    user = request.actor.acting_user
    filters = dict(view.filters or {})
    search = str(filters.pop("q", ""))
    return {"id": view.pk, "name": view.name, "is_shared": view.is_shared,
            "owner_id": view.owner_id, "is_mine": user is not None and view.owner_id == user.pk,
            "search": search, "filters": filters, "columns": list(view.columns or []),
            "sort": view.sort, "created_at": view.created_at, "updated_at": view.updated_at}


@router.get("/saved-views", response=Page[SavedViewOut])
def savedviews_list(request: ApiRequest, page: Query[PageParams],
                    filters: Query[SavedViewFilter]) -> Any:
    """The contacts list views the caller may use: their own and the shared ones, by name.
    Needs `contacts.view`."""
    actor = require(request, "contacts.view")
    qs = savedview_list(tenant=request.tenant, actor=actor)
    user = actor.acting_user
    if filters.mine is not None:
        qs = (qs.filter(owner=user) if filters.mine else qs.exclude(owner=user))
    result = paginate(qs, page, ordering=("name", "id"))
    return {**result, "items": [_out(request, v) for v in result["items"]]}


@router.post("/saved-views", response={201: SavedViewOut})
def savedviews_create(request: ApiRequest, payload: SavedViewIn) -> Any:
    """Save a view of the contacts list. Needs `contacts.view`; sharing it needs
    `contacts.manage`. Filters, columns and sort are checked as the list checks them."""
    actor = require(request, "contacts.view")
    view = savedview_create(tenant=request.tenant, actor=actor, name=payload.name,
                            filters=payload.filters, columns=payload.columns,
                            sort=payload.sort, is_shared=payload.is_shared,
                            search=payload.search)
    return Status(201, _out(request, view))


@router.get("/saved-views/{view_id}", response=SavedViewOut)
def savedviews_get(request: ApiRequest, view_id: UUID) -> Any:
    """One view the caller may use (their own or a shared one). Needs `contacts.view`."""
    actor = require(request, "contacts.view")
    return _out(request, savedview_get(tenant=request.tenant, actor=actor, view_id=view_id))


@router.patch("/saved-views/{view_id}", response=SavedViewOut)
def savedviews_update(request: ApiRequest, view_id: UUID, payload: SavedViewPatch) -> Any:
    """Change a view: one's own, or a shared one with `contacts.manage`."""
    actor = require(request, "contacts.view")
    view = savedview_get(tenant=request.tenant, actor=actor, view_id=view_id)
    changes = {name: getattr(payload, name) for name in payload.model_fields_set
               if getattr(payload, name) is not None}
    view = savedview_update(tenant=request.tenant, actor=actor, view=view, **changes)
    return _out(request, view)


@router.delete("/saved-views/{view_id}", response={204: None})
def savedviews_delete(request: ApiRequest, view_id: UUID) -> Any:
    """Delete a view: one's own, or a shared one with `contacts.manage`."""
    actor = require(request, "contacts.view")
    view = savedview_get(tenant=request.tenant, actor=actor, view_id=view_id)
    savedview_delete(tenant=request.tenant, actor=actor, view=view)
    return Status(204, None)
