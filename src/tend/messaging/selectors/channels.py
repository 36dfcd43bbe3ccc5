"""Reads for channel accounts and Telegram links."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import NotFound
from tend.core.models import Tenant
from tend.core.origins import public_origin
from tend.core.services.guards import check_perm
from tend.messaging.choices import ChannelKind
from tend.messaging.models import ChannelAccount, TelegramLink
from tend.messaging.services.accounts import webhook_path
from tend.people.choices import AliasType
from tend.people.models import Contact, IdentityAlias


def account_webhook_url(account: ChannelAccount, request: HttpRequest | None = None) -> str:
    """Where the provider reaches `account`: its webhook path on the public origin."""
    return public_origin(request) + webhook_path(account)


def channel_account_list(*, tenant: Tenant, actor: Actor, kind: str | None = None
                         ) -> QuerySet[ChannelAccount]:
    """The organization's channel accounts by channel and name. Needs `channels.view`."""
    check_perm(actor, "channels.view")
    rows = ChannelAccount.objects.filter(tenant=tenant)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.order_by("kind", "name", "id")


def access_account(*, tenant: Tenant, actor: Actor, account_id: Any) -> ChannelAccount:
    """One account of `tenant`, or `NotFound` (also for other organizations' ids). Needs
    `channels.view`."""
    check_perm(actor, "channels.view")
    account = ChannelAccount.objects.filter(tenant=tenant, pk=account_id).first()
    if account is None:
        raise NotFound()
    return account


def telegram_links_for_contact(*, tenant: Tenant, contact: Contact,
                               limit: int = 5) -> list[TelegramLink]:
    """The newest Telegram links made for `contact` (with their account)."""
    return list(TelegramLink.objects.filter(tenant=tenant, contact=contact)
                .select_related("account").order_by("-created_at")[:limit])


def telegram_panel(*, tenant: Tenant, contact: Contact) -> dict[str, Any]:
    """What the contact page's Telegram panel shows, in three queries: the contact's Telegram
    identities, its newest links and whether a connected bot exists."""
    aliases = list(IdentityAlias.objects.filter(tenant=tenant, contact=contact,
                                                type=AliasType.TELEGRAM).order_by("created_at"))
    links = telegram_links_for_contact(tenant=tenant, contact=contact, limit=3)
    has_bot = ChannelAccount.objects.filter(tenant=tenant, kind=ChannelKind.TELEGRAM,
                                            status="ACTIVE").exists()
    now = timezone.now()
    return {"telegram_aliases": aliases, "telegram_links": links, "has_bot": has_bot,
            "now": now}
