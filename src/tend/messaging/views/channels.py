"""Messaging → Channels: connected accounts (status, last error, webhook address), the connect
form generated from each provider's fields, change, reconnect, disable, make default; and the
contact page's Telegram panel with its "create link" button."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from tend.core.actors import Actor
from tend.core.errors import TendError
from tend.core.models import Tenant
from tend.core.origins import public_origin
from tend.core.views.base import apply_errors, is_htmx, require_perm, tenant_and_actor
from tend.messaging.choices import ChannelKind
from tend.messaging.models import ChannelAccount
from tend.messaging.providers import Provider, provider_for, providers
from tend.messaging.selectors.channels import (
    access_account,
    account_webhook_url,
    channel_account_list,
    telegram_panel,
)
from tend.messaging.services.accounts import (
    account_connect,
    account_create,
    account_disable,
    account_set_default,
    account_update,
)
from tend.messaging.services.linking import telegram_link_create, telegram_link_url
from tend.people.models import Contact
from tend.people.selectors.contact_page import access_contact

# Shown for copying on the account page (the provider asks for it in its own dashboard).
SHOWN_SECRETS = ("verify_token",)


_ctx = tenant_and_actor


def account_form(provider: Provider, *, account: ChannelAccount | None = None,
                 data: Any = None) -> forms.Form:
    """A form with the account name, then the provider's setting and credential fields.
    Secret inputs never show the stored value; blank keeps it."""
    fields: dict[str, forms.Field] = {
        "name": forms.CharField(label=gettext_lazy("Name"), max_length=100,
                                help_text=gettext_lazy("How people in your team will "
                                                       "recognize this account.")),
    }
    stored = account.credentials if account is not None else {}
    for spec in (*provider.setting_fields, *provider.credential_fields):
        help_text = spec.help_text
        if spec.secret:
            kept = bool(stored.get(spec.name))
            if kept:
                help_text = _("Stored — leave empty to keep it.")
            fields[spec.name] = forms.CharField(
                label=spec.label, required=spec.required and not kept, help_text=help_text,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off",
                                                                      "dir": "ltr"}))
        else:
            fields[spec.name] = forms.CharField(label=spec.label, required=spec.required,
                                                help_text=help_text, max_length=500,
                                                widget=forms.TextInput(attrs={"dir": "ltr"}))
    form_class = type("AccountForm", (forms.Form,), fields)
    initial: dict[str, Any] = {}
    if account is not None:
        initial = {"name": account.name, **{k: v for k, v in account.settings.items()
                                            if isinstance(v, str)}}
    return form_class(data=data, initial=initial)


def _provider(kind: str) -> Provider:
    try:
        return provider_for(kind.upper())
    except KeyError:
        raise Http404 from None


@require_perm("channels.view")
def channels_list(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant, actor = _ctx(request)
    accounts = list(channel_account_list(tenant=tenant, actor=actor))
    rows = [{"account": a, "webhook_url": account_webhook_url(a, request)} for a in accounts]
    kinds = sorted(providers(), key=lambda p: list(ChannelKind.values).index(p.kind))
    return render(request, "messaging/channels.html", {
        "rows": rows, "providers": kinds, "can_manage": actor.has_perm("channels.manage")})


@require_perm("channels.manage")
def channel_connect(request: HttpRequest, org_slug: str, kind: str) -> HttpResponse:
    tenant, actor = _ctx(request)
    provider = _provider(kind)
    form = account_form(provider, data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        saved = _save(request, form, partial(account_create, tenant=tenant, actor=actor,
                                             kind=provider.kind))
        if saved is not None:
            return saved
        status = 422
    return render(request, "messaging/channel_form.html",
                  {"form": form, "provider": provider, "account": None}, status=status)


def _save(request: HttpRequest, form: Any, save: Callable[..., ChannelAccount], *,
          keep: dict[str, Any] | None = None) -> HttpResponse | None:
    """Save a bound account form through `save(name=, values=, base_url=)` (creating or
    updating): a redirect to the account with how connecting went, or None when the form or
    the service refused (the service's errors are put on the form). `keep`: values the form
    does not show that stay."""
    if not form.is_valid():
        return None
    values = {**(keep or {}), **{k: v for k, v in form.cleaned_data.items() if k != "name"}}
    try:
        account = save(name=form.cleaned_data["name"], values=values,
                       base_url=public_origin(request))
    except TendError as exc:
        apply_errors(form, exc)
        return None
    _connected_message(request, account)
    return redirect("messaging:channel-detail", org_slug=_ctx(request)[0].slug,
                    account_id=account.pk)


def _connected_message(request: HttpRequest, account: ChannelAccount) -> None:
    if account.status == "ACTIVE":
        messages.success(request, _("%(name)s is connected.") % {"name": account.name})
    else:
        messages.error(request, _("%(name)s could not connect: %(error)s")
                       % {"name": account.name, "error": account.last_error})


@require_perm("channels.view")
def channel_detail(request: HttpRequest, org_slug: str, account_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    account = access_account(tenant=tenant, actor=actor, account_id=account_id)
    provider = _provider(account.kind)
    can_manage = actor.has_perm("channels.manage")
    form = None
    status = 200
    if can_manage:
        form = account_form(provider, account=account,
                            data=request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form is None:
            raise Http404
        saved = _save(request, form, partial(account_update, tenant=tenant, actor=actor,
                                             account=account),
                      keep={k: v for k, v in account.settings.items() if isinstance(v, str)})
        if saved is not None:
            return saved
        status = 422
    credentials = account.credentials if can_manage else {}
    shown = [(spec.label, credentials.get(spec.name)) for spec in provider.credential_fields
             if spec.name in SHOWN_SECRETS and credentials.get(spec.name)]
    return render(request, "messaging/channel_form.html", {
        "form": form, "provider": provider, "account": account, "shown_secrets": shown,
        "webhook_url": account_webhook_url(account, request), "can_manage": can_manage,
    }, status=status)


def _action(request: HttpRequest, account_id: UUID, action: str) -> HttpResponse:
    tenant, actor = _ctx(request)
    account = access_account(tenant=tenant, actor=actor, account_id=account_id)
    if action == "reconnect":
        account = account_connect(tenant=tenant, actor=actor, account=account,
                                  base_url=public_origin(request))
        _connected_message(request, account)
    elif action == "disable":
        account_disable(tenant=tenant, actor=actor, account=account)
        messages.success(request, _("%(name)s is disabled.") % {"name": account.name})
    else:
        account_set_default(tenant=tenant, actor=actor, account=account)
        messages.success(request, _("%(name)s is now the default %(channel)s account.")
                         % {"name": account.name, "channel": account.get_kind_display()})
    return redirect("messaging:channels", org_slug=tenant.slug)


@require_POST
@require_perm("channels.manage")
def channel_reconnect(request: HttpRequest, org_slug: str, account_id: UUID) -> HttpResponse:
    return _action(request, account_id, "reconnect")


@require_POST
@require_perm("channels.manage")
def channel_disable(request: HttpRequest, org_slug: str, account_id: UUID) -> HttpResponse:
    return _action(request, account_id, "disable")


@require_POST
@require_perm("channels.manage")
def channel_default(request: HttpRequest, org_slug: str, account_id: UUID) -> HttpResponse:
    return _action(request, account_id, "default")


# -- the contact page's Telegram panel -----------------------------------------------------


def telegram_panel_context(*, tenant: Tenant, actor: Actor, contact: Contact
                           ) -> dict[str, Any] | None:
    """The Telegram panel: the contact's Telegram identities and newest links (3 queries)."""
    context = telegram_panel(tenant=tenant, contact=contact)
    context["links"] = [{"link": link, "url": telegram_link_url(link)}
                        for link in context["telegram_links"]]
    context["can_link"] = actor.has_perm("contacts.change") and context["has_bot"]
    return context


@require_POST
@require_perm("contacts.change")
def telegram_link_add(request: HttpRequest, org_slug: str, contact_id: UUID) -> HttpResponse:
    tenant, actor = _ctx(request)
    contact = access_contact(tenant=tenant, contact_id=contact_id, actor=actor)
    error = ""
    try:
        telegram_link_create(tenant=tenant, actor=actor, contact=contact)
    except TendError as exc:
        error = "; ".join(m for ms in exc.fields.values() for m in ms) or exc.message
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect("people:contacts-detail", org_slug=tenant.slug, contact_id=contact.pk)
    context = telegram_panel_context(tenant=tenant, actor=actor, contact=contact) or {}
    return render(request, "messaging/partials/contact_telegram.html",
                  {**context, "contact": contact, "tenant": tenant, "link_error": error},
                  status=422 if error else 200)


_base = "o/<slug:org_slug>/messaging/channels"
_one = f"{_base}/<uuid:account_id>"
urlpatterns: list[Any] = [
    path(f"{_base}/", channels_list, name="channels"),
    path(f"{_base}/connect/<slug:kind>/", channel_connect, name="channel-connect"),
    path(f"{_one}/", channel_detail, name="channel-detail"),
    path(f"{_one}/reconnect/", channel_reconnect, name="channel-reconnect"),
    path(f"{_one}/disable/", channel_disable, name="channel-disable"),
    path(f"{_one}/default/", channel_default, name="channel-default"),
    path("o/<slug:org_slug>/messaging/contacts/<uuid:contact_id>/telegram-link/",
         telegram_link_add, name="contact-telegram-link"),
]
