"""Custom fields: the entity types, and field definitions (list, read, create, change,
deactivate, activate). Values are written with each record's own endpoint, in its `custom`
object, and validated there against these definitions."""

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.models import FieldType
from tend.core.selectors.customfields import customfield_get, customfield_list
from tend.core.services.customfields import (
    custom_field_entities,
    customfield_activate,
    customfield_create,
    customfield_deactivate,
    customfield_update,
)

router = Router(tags=["Custom fields"])


class EntityOut(Schema):
    key: str
    label: str


class ChoiceIn(Schema):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(max_length=200)
    label: dict[str, str] | None = Field(None, description='e.g. {"en": "Gold", "ar": "ذهبي"}')


class ChoiceOut(Schema):
    value: str
    label: dict[str, str]


class CustomFieldOut(Schema):
    id: UUID
    entity_type: str
    key: str
    label: dict[str, str]
    field_type: FieldType
    required: bool
    choices: list[ChoiceOut]
    help_text: str
    position: int
    is_active: bool
    created_at: datetime
    updated_at: datetime


class CustomFieldIn(Schema):
    model_config = ConfigDict(extra="forbid")

    entity_type: str = Field(max_length=50, description="One of GET /custom-field-entities.")
    key: str = Field(max_length=100, description="Lowercase letters, digits and _; fixed.")
    label: dict[str, str] = Field(description='Per language, e.g. {"en": "Level"}.')
    field_type: FieldType = Field(description="Fixed once created.")
    required: bool = False
    choices: list[ChoiceIn] = Field(default_factory=list,
                                    description="For choice and multi_choice only.")
    help_text: str = Field("", max_length=1000)
    position: int | None = Field(None, ge=0, le=100_000, description="Default: last.")


class CustomFieldPatch(Schema):
    """Only the fields sent are changed; the key and type are fixed."""

    model_config = ConfigDict(extra="forbid")

    label: dict[str, str] | None = None
    required: bool | None = None
    choices: list[ChoiceIn] | None = None
    help_text: str | None = Field(None, max_length=1000)
    position: int | None = Field(None, ge=0, le=100_000)


class CustomFieldFilter(Schema):
    entity_type: str | None = Field(None, max_length=50)
    is_active: bool | None = None


def _choices(choices: list[ChoiceIn] | None) -> list[dict[str, Any]] | None:
    if choices is None:
        return None
    return [c.model_dump(exclude_none=True) for c in choices]


@router.get("/custom-field-entities", response=list[EntityOut])
def customfield_entities(request: ApiRequest):
    """The record types that can have custom fields. Needs `customfields.view`."""
    require(request, "customfields.view")
    return [{"key": e.key, "label": str(e.label)} for e in custom_field_entities()]


@router.get("/custom-fields", response=Page[CustomFieldOut])
def customfields_list(request: ApiRequest, page: Query[PageParams],
                      filters: Query[CustomFieldFilter]):
    """Field definitions by record type and position. Needs `customfields.view`."""
    require(request, "customfields.view")
    fields = customfield_list(tenant=request.tenant, entity_type=filters.entity_type,
                              is_active=filters.is_active)
    return paginate(fields, page, ordering=("entity_type", "position", "key", "id"))


@router.post("/custom-fields", response={201: CustomFieldOut})
def customfields_create(request: ApiRequest, payload: CustomFieldIn):
    """Add a field to a record type. Needs `customfields.manage`."""
    actor = require(request, "customfields.manage")
    definition = customfield_create(
        tenant=request.tenant, actor=actor, entity_type=payload.entity_type, key=payload.key,
        label=payload.label, field_type=payload.field_type, required=payload.required,
        choices=_choices(payload.choices), help_text=payload.help_text,
        position=payload.position,
    )
    return Status(201, definition)


@router.get("/custom-fields/{field_id}", response=CustomFieldOut)
def customfields_get(request: ApiRequest, field_id: UUID):
    """One field definition. Needs `customfields.view`."""
    require(request, "customfields.view")
    return customfield_get(tenant=request.tenant, field_id=field_id)


@router.patch("/custom-fields/{field_id}", response=CustomFieldOut)
def customfields_update(request: ApiRequest, field_id: UUID, payload: CustomFieldPatch):
    """Change a field's label, choices, required flag, help text or position.
    Needs `customfields.manage`."""
    actor = require(request, "customfields.manage")
    definition = customfield_get(tenant=request.tenant, field_id=field_id)
    changes = payload.model_dump(exclude_unset=True)
    if "choices" in changes:
        changes["choices"] = _choices(payload.choices)
    changes = {k: v for k, v in changes.items() if v is not None}
    return customfield_update(tenant=request.tenant, actor=actor, definition=definition,
                              **changes)


@router.post("/custom-fields/{field_id}/deactivate", response=CustomFieldOut)
def customfields_deactivate(request: ApiRequest, field_id: UUID):
    """Hide a field from forms and stop requiring it; stored values are kept.
    Needs `customfields.manage`."""
    actor = require(request, "customfields.manage")
    definition = customfield_get(tenant=request.tenant, field_id=field_id)
    return customfield_deactivate(tenant=request.tenant, actor=actor, definition=definition)


@router.post("/custom-fields/{field_id}/activate", response=CustomFieldOut)
def customfields_activate(request: ApiRequest, field_id: UUID):
    """Bring a deactivated field back. Needs `customfields.manage`."""
    actor = require(request, "customfields.manage")
    definition = customfield_get(tenant=request.tenant, field_id=field_id)
    return customfield_activate(tenant=request.tenant, actor=actor, definition=definition)
