"""Companies: list, create, read, change, delete, and a company's contacts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

from django.db.models import Prefetch
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import ValidationFailed
from tend.people.api.contacts import ContactOut
from tend.people.models import Company, IdentityAlias
from tend.people.selectors.contacts import (
    company_contacts,
    company_get,
    company_list,
    contact_sort,
)
from tend.people.services.companies import company_create, company_delete, company_update

router = Router(tags=["Companies"])

SORTS = {"name": ("name", "id"), "-name": ("-name", "-id"),
         "created": ("created_at", "id"), "-created": ("-created_at", "-id")}


class CompanyOut(Schema):
    id: UUID
    name: str
    names: dict[str, str]
    sector: str
    size: str
    city: str
    region: str
    country: str
    registration_number: str
    website: str
    domain: str
    owner_id: UUID | None
    custom: dict[str, Any]
    contact_count: int = Field(description="Live contacts working there.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_contact_count(obj: Company) -> int:
        return getattr(obj, "contact_count", 0)


class CompanyFields(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    names: dict[str, str] | None = Field(None, description='Other languages: {"ar": "…"}')
    sector: str | None = Field(None, max_length=100)
    size: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    country: str | None = Field(None, max_length=2)
    registration_number: str | None = Field(None, max_length=100)
    website: str | None = Field(None, max_length=200)
    domain: str | None = Field(None, max_length=253)
    owner_id: UUID | None = Field(None, description="A member of this organization.")
    custom: dict[str, Any] | None = None


class CompanyIn(CompanyFields):
    name: str = Field(max_length=200)  # type: ignore[assignment]


class CompanyFilter(Schema):
    q: str | None = Field(None, max_length=200, description="Name, domain or city.")
    sort: str | None = Field(None, description="name, -name, created, -created")


def _data(sent: dict[str, Any]) -> dict[str, Any]:
    if "owner_id" in sent:
        sent["owner"] = sent.pop("owner_id")
    return sent


def _rename(exc: ValidationFailed) -> ValidationFailed:
    return ValidationFailed(exc.message, fields={("owner_id" if k == "owner" else k): v
                                                 for k, v in exc.fields.items()})


def _get(request: ApiRequest, company_id: UUID) -> Company:
    tenant = request.tenant
    return company_list(tenant=tenant).get(pk=company_get(tenant=tenant,
                                                          company_id=company_id).pk)


@router.get("/companies", response=Page[CompanyOut])
def companies_list(request: ApiRequest, page: Query[PageParams], filters: Query[CompanyFilter]):
    """Companies with their number of contacts. Needs `companies.view`."""
    require(request, "companies.view")
    sort = filters.sort or "name"
    companies = company_list(tenant=request.tenant, search=filters.q or "", sort=sort)
    return paginate(companies, page, ordering=SORTS[sort])


@router.post("/companies", response={201: CompanyOut})
def companies_create(request: ApiRequest, payload: CompanyIn):
    """Create a company. Needs `companies.add`."""
    actor = require(request, "companies.add")
    try:
        company = company_create(tenant=request.tenant, actor=actor,
                                 data=_data(payload.model_dump(exclude_unset=True)))
    except ValidationFailed as exc:
        raise _rename(exc) from None
    return Status(201, _get(request, company.pk))


@router.get("/companies/{company_id}", response=CompanyOut)
def companies_get(request: ApiRequest, company_id: UUID):
    """One company. Needs `companies.view`."""
    require(request, "companies.view")
    return _get(request, company_id)


@router.patch("/companies/{company_id}", response=CompanyOut)
def companies_update(request: ApiRequest, company_id: UUID, payload: CompanyFields):
    """Change the fields sent. Needs `companies.change`."""
    actor = require(request, "companies.change")
    company = company_get(tenant=request.tenant, company_id=company_id)
    try:
        company_update(tenant=request.tenant, actor=actor, company=company,
                       data=_data(payload.model_dump(exclude_unset=True)))
    except ValidationFailed as exc:
        raise _rename(exc) from None
    return _get(request, company_id)


@router.delete("/companies/{company_id}", response={204: None})
def companies_delete(request: ApiRequest, company_id: UUID):
    """Delete a company (its contacts stay, without it in lists). Needs `companies.delete`."""
    actor = require(request, "companies.delete")
    company_delete(tenant=request.tenant, actor=actor,
                   company=company_get(tenant=request.tenant, company_id=company_id))
    return Status(204, None)


@router.get("/companies/{company_id}/contacts", response=Page[ContactOut])
def companies_contacts(request: ApiRequest, company_id: UUID, page: Query[PageParams]):
    """The company's contacts, by name. Needs `companies.view` and `contacts.view`."""
    require(request, "companies.view", "contacts.view")
    tenant = request.tenant
    company = company_get(tenant=tenant, company_id=company_id)
    contacts = company_contacts(tenant=tenant, company=company).prefetch_related(
        Prefetch("aliases", queryset=IdentityAlias.objects.filter(tenant=tenant)))
    return paginate(contacts, page, ordering=contact_sort("name"))
