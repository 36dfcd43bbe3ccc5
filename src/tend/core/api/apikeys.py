"""API keys: list, read, create (the secret is returned once) and revoke."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status

from tend.core.api.base import ApiRequest, Page, PageParams, no_idempotency, paginate, require
from tend.core.models import ApiKey
from tend.core.selectors.apikeys import access_apikey, apikey_list, apikey_status
from tend.core.services.apikeys import apikey_create, apikey_revoke

router = Router(tags=["API keys"])


class ApiKeyOut(Schema):
    id: UUID
    name: str
    prefix: str = Field(description="Public part of the key, shown in lists to recognize it.")
    permissions: list[str]
    status: str = Field(description="active, revoked or expired")
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    created_by_id: UUID | None
    created_by_email: str | None

    @staticmethod
    def resolve_status(obj: ApiKey) -> str:
        return apikey_status(obj)

    @staticmethod
    def resolve_created_by_email(obj: ApiKey) -> str | None:
        return obj.created_by.email if obj.created_by is not None else None


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="The full key. Shown only in this response; store it now.")


class ApiKeyIn(Schema):
    name: str = Field(max_length=100)
    permissions: list[str] = Field(
        description="A subset of your own permissions, e.g. [\"members.view\"]."
    )
    expires_at: datetime | None = None


class ApiKeyFilter(Schema):
    status: str | None = Field(None, description="active, revoked or expired")
    q: str | None = Field(None, description="Part of the name.")


@router.get("/api-keys", response=Page[ApiKeyOut])
def apikeys_list(request: ApiRequest, page: Query[PageParams], filters: Query[ApiKeyFilter]):
    """The organization's API keys, newest first. Needs `apikeys.view`."""
    actor = require(request, "apikeys.view")
    keys = apikey_list(tenant=request.tenant, actor=actor, status=filters.status, q=filters.q)
    return paginate(keys, page)


@router.post("/api-keys", response={201: ApiKeyCreated})
@no_idempotency
def apikeys_create(request: ApiRequest, payload: ApiKeyIn):
    """Create a key. The response holds the secret, which is never shown again.
    Needs `apikeys.manage`; the permissions must be ones you hold."""
    actor = require(request, "apikeys.manage")
    api_key, secret = apikey_create(
        tenant=request.tenant, actor=actor, name=payload.name,
        permissions=payload.permissions, expires_at=payload.expires_at,
    )
    api_key.secret = secret  # type: ignore[attr-defined]
    return Status(201, api_key)


@router.get("/api-keys/{key_id}", response=ApiKeyOut)
def apikeys_get(request: ApiRequest, key_id: UUID):
    """One API key. Needs `apikeys.view`."""
    actor = require(request, "apikeys.view")
    return access_apikey(tenant=request.tenant, actor=actor, key_id=key_id)


@router.post("/api-keys/{key_id}/revoke", response=ApiKeyOut)
def apikeys_revoke(request: ApiRequest, key_id: UUID):
    """Revoke a key at once; revoking twice is harmless. Needs `apikeys.manage`."""
    actor = require(request, "apikeys.manage")
    api_key = access_apikey(tenant=request.tenant, actor=actor, key_id=key_id)
    return apikey_revoke(tenant=request.tenant, actor=actor, api_key=api_key)
