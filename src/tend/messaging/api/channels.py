"""Channel accounts (list, connect, change, reconnect, disable, default) and Telegram links.

Secrets are write-only: they go in `values` and never come back; an account says which of
its secrets are stored (`secrets_set`). A blank or missing secret on a change keeps the
stored one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import ValidationFailed
from tend.core.origins import public_origin
from tend.messaging.choices import ChannelKind
from tend.messaging.models import ChannelAccount, TelegramLink
from tend.messaging.providers import provider_for, providers
from tend.messaging.selectors.channels import (
    access_account,
    account_webhook_url,
    channel_account_list,
    telegram_links_for_contact,
)
from tend.messaging.services.accounts import (
    account_connect,
    account_create,
    account_disable,
    account_set_default,
    account_update,
)
from tend.messaging.services.linking import telegram_link_create, telegram_link_url
from tend.people.selectors.contact_page import access_contact

router = Router(tags=["Channels"])


class FieldOut(Schema):
    name: str
    label: str
    secret: bool
    required: bool
    help_text: str


class ProviderOut(Schema):
    kind: str
    label: str
    setting_fields: list[FieldOut]
    credential_fields: list[FieldOut]


class AccountOut(Schema):
    id: UUID
    kind: str
    name: str
    status: str = Field(description="PENDING, ACTIVE, ERROR or DISABLED")
    is_default: bool
    settings: dict[str, Any] = Field(description="What is not secret: bot username, "
                                                 "API address, phone number id…")
    secrets_set: list[str] = Field(description="Names of the secrets stored (never values).")
    webhook_url: str = Field(description="Where the provider must post events.")
    last_error: str
    last_error_at: datetime | None
    connected_at: datetime | None
    last_inbound_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AccountIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="TELEGRAM, WHATSAPP, EMAIL, SMS or WEB")
    name: str = Field(max_length=100)
    values: dict[str, str] = Field(default_factory=dict,
                                   description="The provider's setting and credential fields "
                                               "by name (see GET /channels/providers).")


class AccountPatch(Schema):
    """Only what is sent changes; blank secrets keep the stored ones. Reconnects."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100)
    values: dict[str, str] = Field(default_factory=dict)


class AccountFilter(Schema):
    kind: str | None = Field(None, description="Only accounts of this channel.")


class LinkIn(Schema):
    model_config = ConfigDict(extra="forbid")

    account_id: UUID | None = Field(None, description="Default: the default Telegram bot.")
    expires_in_days: int = Field(7, ge=1, le=90)


class LinkOut(Schema):
    id: UUID
    url: str = Field(description="https://t.me/<bot>?start=<code>")
    account_id: UUID
    contact_id: UUID
    expires_at: datetime
    used_at: datetime | None
    telegram_user_id: str
    created_at: datetime


def _account_out(request: ApiRequest, account: ChannelAccount) -> dict[str, Any]:
    return {
        "id": account.pk, "kind": account.kind, "name": account.name,
        "status": account.status, "is_default": account.is_default,
        "settings": {k: v for k, v in account.settings.items() if k != "webhook_url"},
        "secrets_set": sorted(k for k, v in account.credentials.items() if v),
        "webhook_url": account_webhook_url(account, request),
        "last_error": account.last_error, "last_error_at": account.last_error_at,
        "connected_at": account.connected_at, "last_inbound_at": account.last_inbound_at,
        "created_at": account.created_at, "updated_at": account.updated_at,
    }


def _link_out(link: TelegramLink) -> dict[str, Any]:
    return {"id": link.pk, "url": telegram_link_url(link), "account_id": link.account_id,
            "contact_id": link.contact_id, "expires_at": link.expires_at,
            "used_at": link.used_at, "telegram_user_id": link.telegram_user_id,
            "created_at": link.created_at}


def _check_values(kind: str, values: dict[str, str]) -> None:
    """Refuse fields the provider does not have (a typo must not be ignored silently)."""
    try:
        provider = provider_for(kind)
    except KeyError:
        return  # the service reports the unknown channel
    known = {f.name for f in (*provider.setting_fields, *provider.credential_fields)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValidationFailed(fields={f"values.{name}": [_("This field cannot be set.")]
                                       for name in unknown})


def _field(spec: Any) -> dict[str, Any]:
    return {"name": spec.name, "label": str(spec.label), "secret": spec.secret,
            "required": spec.required, "help_text": str(spec.help_text or "")}


@router.get("/channels/providers", response=list[ProviderOut])
def channel_providers(request: ApiRequest):
    """The channels this installation can connect, with the fields each one asks for.
    Needs `channels.view`."""
    require(request, "channels.view")
    return [{"kind": p.kind, "label": str(p.label),
             "setting_fields": [_field(f) for f in p.setting_fields],
             "credential_fields": [_field(f) for f in p.credential_fields]}
            for p in sorted(providers(), key=lambda p: list(ChannelKind.values).index(p.kind))]


@router.get("/channels", response=Page[AccountOut])
def channels_list(request: ApiRequest, page: Query[PageParams],
                  filters: Query[AccountFilter]):
    """The organization's channel accounts. Needs `channels.view`."""
    actor = require(request, "channels.view")
    rows = channel_account_list(tenant=request.tenant, actor=actor, kind=filters.kind)
    result = paginate(rows, page, ordering=("kind", "name", "id"))
    result["items"] = [_account_out(request, a) for a in result["items"]]
    return result


@router.post("/channels", response={201: AccountOut})
def channels_create(request: ApiRequest, payload: AccountIn):
    """Add an account and connect it with the provider. A refused connection still creates
    the account, with status ERROR and the provider's message in `last_error`. Needs
    `channels.manage`."""
    actor = require(request, "channels.manage")
    _check_values(payload.kind, payload.values)
    account = account_create(tenant=request.tenant, actor=actor, kind=payload.kind,
                             name=payload.name, values=payload.values,
                             base_url=public_origin(request))
    return Status(201, _account_out(request, account))


@router.get("/channels/{account_id}", response=AccountOut)
def channels_get(request: ApiRequest, account_id: UUID):
    """One account. Needs `channels.view`."""
    actor = require(request, "channels.view")
    account = access_account(tenant=request.tenant, actor=actor, account_id=account_id)
    return _account_out(request, account)


@router.patch("/channels/{account_id}", response=AccountOut)
def channels_update(request: ApiRequest, account_id: UUID, payload: AccountPatch):
    """Rename an account or change its settings and secrets, then reconnect. Needs
    `channels.manage`."""
    actor = require(request, "channels.manage")
    account = access_account(tenant=request.tenant, actor=actor, account_id=account_id)
    _check_values(account.kind, payload.values)
    values = {**account.settings, **payload.values}
    account = account_update(tenant=request.tenant, actor=actor, account=account,
                             name=payload.name if payload.name is not None else account.name,
                             values=values, base_url=public_origin(request))
    return _account_out(request, account)


@router.post("/channels/{account_id}/reconnect", response=AccountOut)
def channels_reconnect(request: ApiRequest, account_id: UUID):
    """Check the credentials and register the webhook again (also re-enables a disabled
    account). Needs `channels.manage`."""
    actor = require(request, "channels.manage")
    account = access_account(tenant=request.tenant, actor=actor, account_id=account_id)
    account = account_connect(tenant=request.tenant, actor=actor, account=account,
                              base_url=public_origin(request))
    return _account_out(request, account)


@router.post("/channels/{account_id}/disable", response=AccountOut)
def channels_disable(request: ApiRequest, account_id: UUID):
    """Stop using an account: its webhook is removed at the provider where possible and
    nothing more is sent or received through it. Needs `channels.manage`."""
    actor = require(request, "channels.manage")
    account = access_account(tenant=request.tenant, actor=actor, account_id=account_id)
    account = account_disable(tenant=request.tenant, actor=actor, account=account)
    return _account_out(request, account)


@router.post("/channels/{account_id}/default", response=AccountOut)
def channels_set_default(request: ApiRequest, account_id: UUID):
    """Make this the account its channel's messages go through by default. Needs
    `channels.manage`."""
    actor = require(request, "channels.manage")
    account = access_account(tenant=request.tenant, actor=actor, account_id=account_id)
    account = account_set_default(tenant=request.tenant, actor=actor, account=account)
    return _account_out(request, account)


@router.get("/contacts/{contact_id}/telegram-links", response=list[LinkOut])
def telegram_links_list(request: ApiRequest, contact_id: UUID):
    """The newest Telegram links made for a contact. Needs `contacts.view`."""
    actor = require(request, "contacts.view")
    contact = access_contact(tenant=request.tenant, contact_id=contact_id, actor=actor)
    return [_link_out(link) for link in
            telegram_links_for_contact(tenant=request.tenant, contact=contact, limit=20)]


@router.post("/contacts/{contact_id}/telegram-links", response={201: LinkOut})
def telegram_links_create(request: ApiRequest, contact_id: UUID, payload: LinkIn):
    """Make a one-time link (`https://t.me/<bot>?start=<code>`) that attaches the Telegram
    account of whoever opens it to this contact, as a verified identity. Needs
    `contacts.change`."""
    actor = require(request, "contacts.change")
    contact = access_contact(tenant=request.tenant, contact_id=contact_id, actor=actor)
    account = None
    if payload.account_id is not None:
        from tend.messaging.services.linking import telegram_link_account

        account = telegram_link_account(tenant=request.tenant, account_id=payload.account_id)
    link = telegram_link_create(tenant=request.tenant, actor=actor, contact=contact,
                                account=account,
                                expires_in=timedelta(days=payload.expires_in_days))
    return Status(201, _link_out(link))
