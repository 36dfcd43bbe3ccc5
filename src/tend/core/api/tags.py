"""Tags: list, read, create, change and delete."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.selectors.tags import tag_get, tag_list
from tend.core.services.tags import tag_create, tag_delete, tag_update

router = Router(tags=["Tags"])


class TagOut(Schema):
    id: UUID
    name: str
    slug: str = Field(description="From the name; two names with one slug are the same tag.")
    color: str = Field(description="#rrggbb")
    description: str
    created_at: datetime
    updated_at: datetime


class TagIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    color: str | None = Field(None, description="#rrggbb (default grey)")
    description: str = Field("", max_length=1000)


class TagPatch(Schema):
    """Only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    color: str | None = Field(None, description="#rrggbb")
    description: str | None = Field(None, max_length=1000)


class TagFilter(Schema):
    q: str | None = Field(None, max_length=100, description="Part of the name or slug.")


@router.get("/tags", response=Page[TagOut])
def tags_list(request: ApiRequest, page: Query[PageParams], filters: Query[TagFilter]):
    """The organization's tags by name. Needs `tags.view`."""
    require(request, "tags.view")
    tags = tag_list(tenant=request.tenant, search=filters.q or "")
    return paginate(tags, page, ordering=("name", "id"))


@router.post("/tags", response={201: TagOut})
def tags_create(request: ApiRequest, payload: TagIn):
    """Create a tag. Needs `tags.add`; the name must be new, ignoring case and punctuation."""
    actor = require(request, "tags.add")
    tag = tag_create(tenant=request.tenant, actor=actor, name=payload.name, color=payload.color,
                     description=payload.description)
    return Status(201, tag)


@router.get("/tags/{tag_id}", response=TagOut)
def tags_get(request: ApiRequest, tag_id: UUID):
    """One tag. Needs `tags.view`."""
    require(request, "tags.view")
    return tag_get(tenant=request.tenant, tag_id=tag_id)


@router.patch("/tags/{tag_id}", response=TagOut)
def tags_update(request: ApiRequest, tag_id: UUID, payload: TagPatch):
    """Rename, recolor or describe a tag. Needs `tags.change`."""
    actor = require(request, "tags.change")
    tag = tag_get(tenant=request.tenant, tag_id=tag_id)
    return tag_update(tenant=request.tenant, actor=actor, tag=tag, name=payload.name,
                      color=payload.color, description=payload.description)


@router.delete("/tags/{tag_id}", response={204: None})
def tags_delete(request: ApiRequest, tag_id: UUID):
    """Delete a tag; records lose it. Needs `tags.delete`."""
    actor = require(request, "tags.delete")
    tag = tag_get(tenant=request.tenant, tag_id=tag_id)
    tag_delete(tenant=request.tenant, actor=actor, tag=tag)
    return Status(204, None)
