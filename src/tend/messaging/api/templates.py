"""Message templates: list, create (a draft), read, change (a published version's change
becomes the next draft), publish, archive, preview against a contact, and the variables
templates may use."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import NotFound, ValidationFailed
from tend.messaging import rendering
from tend.messaging.choices import ChannelKind, TemplateCategory, TemplateStatus
from tend.messaging.selectors.templates import TEMPLATE_ORDERING, template_get, template_list
from tend.messaging.services.templates import (
    template_archive,
    template_create,
    template_preview,
    template_publish,
    template_update,
)
from tend.people.selectors.contact_page import access_contact

router = Router(tags=["Templates"])


class TemplateOut(Schema):
    id: UUID
    key: str
    name: str
    channel: str
    language: str
    version: int
    status: str
    category: str
    subject: str
    body: str
    variables: list[str] = Field(description="The variables the text uses, in order.")
    provider_template_name: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TemplateFilter(Schema):
    key: str | None = Field(None, max_length=100)
    channel: ChannelKind | None = None
    language: str | None = Field(None, max_length=10)
    status: TemplateStatus | None = None
    q: str | None = Field(None, max_length=100, description="Part of the key or name.")


class TemplateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=100)
    channel: ChannelKind
    language: str = Field(max_length=10)
    name: str = Field("", max_length=200)
    subject: str = Field("", max_length=300)
    body: str = Field(max_length=10_000)
    category: TemplateCategory = TemplateCategory.UTILITY
    provider_template_name: str = Field("", max_length=200)


class TemplatePatch(Schema):
    """Only the fields sent change. On a published version the change is saved as the next
    version, a draft, which the answer returns."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    subject: str | None = Field(None, max_length=300)
    body: str | None = Field(None, max_length=10_000)
    category: TemplateCategory | None = None
    provider_template_name: str | None = Field(None, max_length=200)


class PreviewIn(Schema):
    model_config = ConfigDict(extra="forbid")

    contact_id: UUID | None = Field(None, description="Omit to preview with empty fields.")
    variables: dict[str, dict[str, str]] | None = Field(
        None, description="Extra values by namespace, e.g. `{\"event\": {\"title\": \"…\"}}`.")


class PreviewOut(Schema):
    subject: str
    body: str
    variables: dict[str, Any]


class VariablesOut(Schema):
    variables: dict[str, list[str]]


@router.get("/templates", response=Page[TemplateOut])
def templates_list(request: ApiRequest, page: Query[PageParams],
                   filters: Query[TemplateFilter]) -> Any:
    """Every version, by key, channel, language and newest version. Needs `templates.view`."""
    require(request, "templates.view")
    qs = template_list(tenant=request.tenant, key=filters.key or "",
                       channel=filters.channel or "", language=filters.language or "",
                       status=filters.status or "", q=(filters.q or "").strip())
    return paginate(qs, page, ordering=TEMPLATE_ORDERING)


@router.get("/templates/variables", response=VariablesOut)
def templates_variables(request: ApiRequest) -> Any:
    """The variables templates may use, by namespace. Needs `templates.view`."""
    require(request, "templates.view")
    return {"variables": {ns: list(names)
                          for ns, names in rendering.allowed_variables().items()}}


@router.post("/templates", response={201: TemplateOut})
def templates_create(request: ApiRequest, payload: TemplateIn) -> Any:
    """Create the first version of a template as a draft. Unknown variables are a field error
    naming them. Needs `templates.change`."""
    actor = require(request, "templates.change")
    template = template_create(tenant=request.tenant, actor=actor, key=payload.key,
                               channel=payload.channel, language=payload.language,
                               body=payload.body, subject=payload.subject, name=payload.name,
                               category=payload.category,
                               provider_template_name=payload.provider_template_name)
    return Status(201, template)


@router.get("/templates/{template_id}", response=TemplateOut)
def templates_get(request: ApiRequest, template_id: UUID) -> Any:
    """One version. Needs `templates.view`."""
    require(request, "templates.view")
    return template_get(tenant=request.tenant, template_id=template_id)


@router.patch("/templates/{template_id}", response=TemplateOut)
def templates_update(request: ApiRequest, template_id: UUID, payload: TemplatePatch) -> Any:
    """Change a draft, or make the next version (a draft) of a published one; returns the
    draft. Archived versions answer 409. Needs `templates.change`."""
    actor = require(request, "templates.change")
    template = template_get(tenant=request.tenant, template_id=template_id)
    values = {name: getattr(payload, name) for name in payload.model_fields_set}
    if any(value is None for value in values.values()):
        raise ValidationFailed(fields={name: [_("Give a value.")]
                                       for name, value in values.items() if value is None})
    return template_update(tenant=request.tenant, actor=actor, template=template,
                           values=values)


@router.post("/templates/{template_id}/publish", response=TemplateOut)
def templates_publish(request: ApiRequest, template_id: UUID) -> Any:
    """Publish a draft (the version published before it is archived). Needs
    `templates.manage`."""
    actor = require(request, "templates.manage")
    template = template_get(tenant=request.tenant, template_id=template_id)
    return template_publish(tenant=request.tenant, actor=actor, template=template)


@router.post("/templates/{template_id}/archive", response=TemplateOut)
def templates_archive(request: ApiRequest, template_id: UUID) -> Any:
    """Archive a version. Needs `templates.manage`."""
    actor = require(request, "templates.manage")
    template = template_get(tenant=request.tenant, template_id=template_id)
    return template_archive(tenant=request.tenant, actor=actor, template=template)


@router.post("/templates/{template_id}/preview", response=PreviewOut)
def templates_preview(request: ApiRequest, template_id: UUID, payload: PreviewIn) -> Any:
    """Render a version for a contact without sending anything. Needs `templates.view`."""
    actor = require(request, "templates.view")
    template = template_get(tenant=request.tenant, template_id=template_id)
    contact = None
    if payload.contact_id is not None:
        try:
            contact = access_contact(tenant=request.tenant, contact_id=payload.contact_id,
                                     actor=actor)
        except NotFound:
            raise ValidationFailed(fields={"contact_id": [
                _("There is no such contact.")]}) from None
    return template_preview(tenant=request.tenant, actor=actor, template=template,
                            contact=contact, extra=payload.variables)
