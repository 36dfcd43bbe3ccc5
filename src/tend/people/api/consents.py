"""A contact's consent per channel and purpose: current state, changes, history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.people.api._contact_page import contact_of
from tend.people.choices import ConsentChannel, ConsentPurpose, ConsentStatus
from tend.people.selectors.consents import HISTORY_ORDERING, consent_history, consent_list
from tend.people.services.consent import consent_set

router = Router(tags=["Consent"])


class ConsentOut(Schema):
    id: UUID
    channel: str
    purpose: str
    status: str
    source: str
    changed_at: datetime


class ConsentSetOut(ConsentOut):
    changed: bool = Field(description="False when the status was already the one sent.")


class ConsentEventOut(Schema):
    id: UUID
    channel: str
    purpose: str
    status: str
    previous_status: str
    source: str
    ip: str | None
    actor_label: str
    occurred_at: datetime


class ConsentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    channel: ConsentChannel
    purpose: ConsentPurpose = ConsentPurpose.MARKETING
    status: ConsentStatus
    source: str = Field("", max_length=100, description="Where it was given, e.g. a form.")
    ip: str | None = Field(None, max_length=45,
                           description="The person's IP address when they gave it.")


@router.get("/contacts/{contact_id}/consents", response=list[ConsentOut])
def consents_list(request: ApiRequest, contact_id: UUID) -> Any:
    """The contact's current consents. Needs `consents.view`."""
    require(request, "consents.view")
    contact = contact_of(request, contact_id)
    return list(consent_list(tenant=request.tenant, contact=contact))


@router.post("/contacts/{contact_id}/consents", response=ConsentSetOut)
def consents_set(request: ApiRequest, contact_id: UUID, payload: ConsentIn) -> Any:
    """Set the consent for one channel and purpose; the history keeps every change. Needs
    `consents.change`."""
    actor = require(request, "consents.change")
    contact = contact_of(request, contact_id)
    consent, changed = consent_set(
        tenant=request.tenant, actor=actor, contact=contact, channel=payload.channel,
        purpose=payload.purpose, status=payload.status, source=payload.source,
        ip=payload.ip,
    )
    return {**ConsentOut.from_orm(consent).model_dump(), "changed": changed}


@router.get("/contacts/{contact_id}/consents/history", response=Page[ConsentEventOut])
def consents_history(request: ApiRequest, contact_id: UUID, page: Query[PageParams]) -> Any:
    """Every consent change of the contact, newest first. Needs `consents.view`."""
    require(request, "consents.view")
    contact = contact_of(request, contact_id)
    return paginate(consent_history(tenant=request.tenant, contact=contact), page,
                    ordering=HISTORY_ORDERING)
