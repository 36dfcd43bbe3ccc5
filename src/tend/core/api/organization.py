"""The current organization's profile, and who is calling (`/me`)."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, request_actor, require
from tend.core.services.organization import tenant_update

router = Router(tags=["Organization"])


class OrganizationOut(Schema):
    id: UUID
    slug: str
    name: str
    plan: str
    time_zone: str
    default_language: str
    locale: str
    region: str = Field(description="Default phone region (ISO 3166 alpha-2).")
    enabled_modules: list[str]
    created_at: datetime


class OrganizationPatch(Schema):
    """Only the fields sent are changed; anything not listed here is refused."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    time_zone: str | None = Field(None, description="An IANA time zone, e.g. Europe/Berlin.")
    default_language: str | None = Field(None, description="One of the interface languages.")
    region: str | None = Field(None, description="ISO 3166 alpha-2, e.g. US or AE.")
    locale: str | None = Field(None, max_length=20, description="e.g. en-US or ar-AE.")


class UserOut(Schema):
    id: UUID
    email: str
    full_name: str
    language: str
    time_zone: str


class RoleOut(Schema):
    id: UUID
    key: str
    name: str


class ApiKeyRef(Schema):
    id: UUID
    name: str
    prefix: str


class MeOut(Schema):
    kind: str = Field(description="user (session) or api_key")
    user: UserOut | None
    api_key: ApiKeyRef | None
    organization: OrganizationOut
    role: RoleOut
    membership_expires_at: datetime | None
    permissions: list[str]


@router.get("/organization", response=OrganizationOut)
def organization_get(request: ApiRequest):
    """The current organization. Needs `organization.view`."""
    require(request, "organization.view")
    return request.tenant


@router.patch("/organization", response=OrganizationOut)
def organization_patch(request: ApiRequest, payload: OrganizationPatch):
    """Change the organization's profile. Needs `organization.change`."""
    actor = require(request, "organization.change")
    tenant = request.tenant

    def sent(field: str, current: str) -> str:
        # A field left out, or sent as null, stays as it is.
        value = getattr(payload, field)
        return current if value is None else value

    return tenant_update(
        tenant=tenant, actor=actor,
        name=sent("name", tenant.name),
        time_zone=sent("time_zone", tenant.time_zone),
        default_language=sent("default_language", tenant.default_language),
        region=sent("region", tenant.region),
        locale=sent("locale", tenant.locale),
        enabled_modules=list(tenant.enabled_modules or []),
    )


@router.get("/me", response=MeOut)
def me(request: ApiRequest):
    """Who is calling: the user or API key, the organization, the role and the effective
    permissions (for a key: its own permissions that its creator still holds)."""
    actor = request_actor(request)
    membership = request.membership
    return {
        "kind": actor.kind,
        "user": actor.acting_user,
        "api_key": actor.api_key,
        "organization": request.tenant,
        "role": membership.role,
        "membership_expires_at": membership.expires_at,
        "permissions": sorted(actor.permissions),
    }
