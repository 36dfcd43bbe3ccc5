"""Channel accounts: create, connect with the provider, change, disable."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.messaging.choices import AccountStatus, ChannelKind
from tend.messaging.models import ChannelAccount
from tend.messaging.providers import ConnectError, provider_for

MAX_ERROR_CHARS = 4000


def webhook_path(account: ChannelAccount) -> str:
    return reverse("messaging:channel-hook", kwargs={"key": account.webhook_key})


def _clean(kind: str, name: Any, values: dict[str, Any], *, existing: dict[str, Any]
           ) -> tuple[str, dict[str, Any], dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    name = str(name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = [_("Give the account a name (at most 100 characters).")]
    provider = provider_for(kind)
    settings_out: dict[str, Any] = {}
    secrets: dict[str, Any] = dict(existing)
    for spec in (*provider.setting_fields, *provider.credential_fields):
        raw = values.get(spec.name)
        value = str(raw).strip() if raw is not None else ""
        if spec.secret:
            if value:
                secrets[spec.name] = value
            elif spec.required and not secrets.get(spec.name):
                errors[spec.name] = [_("This field is required.")]
        else:
            if spec.required and not value:
                errors[spec.name] = [_("This field is required.")]
            if value:
                settings_out[spec.name] = value
    if errors:
        raise ValidationFailed(fields=errors)
    return name, settings_out, secrets


def account_create(*, tenant: Tenant, actor: Actor, kind: str, name: str,
                   values: dict[str, Any], base_url: str = "",
                   connect: bool = True) -> ChannelAccount:
    """Create an account of channel `kind` and connect it (see `account_connect`); with
    `connect=False` it stays PENDING until someone connects it.

    `values` holds the provider's setting and credential fields by name. A failed connection
    is not an error here: the account is kept with status ERROR and the provider's message,
    so the person can fix the credentials and retry.
    """
    check_perm(actor, "channels.manage")
    if kind not in ChannelKind.values:
        raise ValidationFailed(fields={"kind": [_("Choose a channel.")]})
    name, settings_out, secrets = _clean(kind, name, values, existing={})
    if ChannelAccount.objects.filter(tenant=tenant, name=name).exists():
        raise ValidationFailed(fields={"name": [_("An account with this name exists.")]})
    with transaction.atomic():
        account = ChannelAccount(tenant=tenant, kind=kind, name=name, settings=settings_out,
                                 created_by=actor.user, updated_by=actor.user,
                                 is_default=not ChannelAccount.objects.filter(
                                     tenant=tenant, kind=kind).exists())
        account.set_credentials(secrets)
        account.save()
        audit_record(tenant=tenant, actor=actor, action="channel_account.created",
                     entity_type="messaging.channelaccount", entity_id=account.pk,
                     changes={"kind": kind, "name": name})
    if not connect:
        return account
    return account_connect(tenant=tenant, actor=actor, account=account, base_url=base_url)


def account_update(*, tenant: Tenant, actor: Actor, account: ChannelAccount, name: str,
                   values: dict[str, Any], base_url: str = "") -> ChannelAccount:
    """Change an account's name, settings or secrets (blank secrets keep the stored ones),
    then reconnect."""
    check_perm(actor, "channels.manage")
    name, settings_out, secrets = _clean(account.kind, name, values,
                                         existing=account.credentials)
    if ChannelAccount.objects.filter(tenant=tenant, name=name).exclude(pk=account.pk).exists():
        raise ValidationFailed(fields={"name": [_("An account with this name exists.")]})
    account.name = name
    account.settings = {**account.settings, **settings_out}
    account.set_credentials(secrets)
    account.updated_by = actor.user
    account.save()
    audit_record(tenant=tenant, actor=actor, action="channel_account.updated",
                 entity_type="messaging.channelaccount", entity_id=account.pk,
                 changes={"name": name})
    return account_connect(tenant=tenant, actor=actor, account=account, base_url=base_url)


def account_connect(*, tenant: Tenant, actor: Actor, account: ChannelAccount,
                    base_url: str = "") -> ChannelAccount:
    """Check the credentials with the provider and register our webhook there.

    `base_url` is the public origin of this installation (e.g. `https://crm.example.org`);
    the webhook is `<base_url>/hooks/messaging/<key>/`. Network calls happen outside any
    transaction; the outcome (ACTIVE, or ERROR with the provider's message) is saved.
    """
    check_perm(actor, "channels.manage")
    provider = provider_for(account.kind)
    url = base_url.rstrip("/") + webhook_path(account)
    try:
        extra = provider.connect(account, webhook_url=url)
    except ConnectError as exc:
        account.status = AccountStatus.ERROR
        account.last_error = "; ".join(m for msgs in exc.fields.values() for m in msgs)[
            :MAX_ERROR_CHARS]
        account.last_error_at = timezone.now()
    else:
        account.settings = {**account.settings, **extra, "webhook_url": url}
        account.status = AccountStatus.ACTIVE
        account.connected_at = timezone.now()
        account.last_error = ""
    account.save(update_fields=["settings", "status", "connected_at", "last_error",
                                "last_error_at", "updated_at"])
    return account


def account_disable(*, tenant: Tenant, actor: Actor, account: ChannelAccount) -> ChannelAccount:
    """Stop using an account: the provider's webhook is removed where possible, inbound
    requests are refused and nothing more is sent through it."""
    check_perm(actor, "channels.manage")
    try:
        provider_for(account.kind).disconnect(account)
    except Exception as exc:  # the provider may be unreachable; disabling must still work
        account.last_error = str(exc)[:MAX_ERROR_CHARS]
    account.status = AccountStatus.DISABLED
    account.save(update_fields=["status", "last_error", "updated_at"])
    audit_record(tenant=tenant, actor=actor, action="channel_account.disabled",
                 entity_type="messaging.channelaccount", entity_id=account.pk)
    return account


def account_mark_error(*, account: ChannelAccount, error: str) -> None:
    """Record that the provider refused the account itself (e.g. a revoked token)."""
    ChannelAccount.objects.filter(pk=account.pk).update(
        status=AccountStatus.ERROR, last_error=error[:MAX_ERROR_CHARS],
        last_error_at=timezone.now())


def default_account(*, tenant: Tenant, kind: str) -> ChannelAccount | None:
    """The account messages of channel `kind` go through when none is named."""
    return (ChannelAccount.objects.filter(tenant=tenant, kind=kind, status=AccountStatus.ACTIVE)
            .order_by("-is_default", "created_at").first())


def account_set_default(*, tenant: Tenant, actor: Actor, account: ChannelAccount
                        ) -> ChannelAccount:
    """Make `account` the one messages of its channel go through when none is named."""
    check_perm(actor, "channels.manage")
    with transaction.atomic():
        ChannelAccount.objects.filter(tenant=tenant, kind=account.kind, is_default=True).exclude(
            pk=account.pk).update(is_default=False)
        account.is_default = True
        account.save(update_fields=["is_default", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="channel_account.default_set",
                     entity_type="messaging.channelaccount", entity_id=account.pk)
    return account
