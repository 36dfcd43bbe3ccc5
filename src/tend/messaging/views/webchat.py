"""The in-app (WEB) channel's page for contacts: `/chat/<signed token>/`.

Outside `/o/` and without sign-in: the signed token (see `tend.messaging.webchat`) names the
organization, the WEB account and the contact, and expires. The page shows the conversation
on that account and lets the person write back; what they write is stored as an inbound
message through the same services as every channel, so staff see it in the inbox. A bad,
altered or expired token, a disabled account or a deleted contact answer 404.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import translation
from django.views.decorators.http import require_http_methods

from tend.core.errors import ValidationFailed
from tend.core.models import Tenant
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import AccountStatus, ChannelKind
from tend.messaging.models import ChannelAccount, Conversation, Message
from tend.messaging.selectors.conversations import VISIBLE_TO_CONTACT
from tend.messaging.services.conversations import webchat_receive
from tend.messaging.webchat import webchat_unsign
from tend.people.models import Contact

THREAD_ROWS = 100
POLL_SECONDS = 4


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "messaging/webchat.html", {"state": "invalid"}, status=404)


def _resolve(token: str) -> tuple[Tenant, ChannelAccount, Contact] | None:
    target = webchat_unsign(token)
    if target is None:
        return None
    tenant = Tenant.objects.filter(pk=target.tenant_id, is_active=True).first()
    if tenant is None:
        return None
    with tenant_scope(tenant):
        account = (ChannelAccount.objects.filter(tenant=tenant, pk=target.account_id,
                                                 kind=ChannelKind.WEB)
                   .exclude(status=AccountStatus.DISABLED).first())
        contact = Contact.objects.filter(tenant=tenant, pk=target.contact_id,
                                         deleted_at__isnull=True, erased_at__isnull=True).first()
    if account is None or contact is None:
        return None
    return tenant, account, contact


def _language(request: HttpRequest, tenant: Tenant, contact: Contact) -> str:
    return (request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or contact.language
            or tenant.default_language or "en")


def _thread(tenant: Tenant, account: ChannelAccount, contact: Contact) -> list[Message]:
    conversation = Conversation.objects.filter(tenant=tenant, account=account,
                                               contact=contact).first()
    if conversation is None:
        return []
    rows = list(Message.objects.filter(VISIBLE_TO_CONTACT, tenant=tenant,
                                       conversation=conversation)
                .order_by("-queued_at", "-id")[:THREAD_ROWS])
    rows.reverse()
    return rows


@require_http_methods(["GET", "POST"])
def webchat(request: HttpRequest, token: str) -> HttpResponse:
    found = _resolve(token)
    if found is None:
        return _not_found(request)
    tenant, account, contact = found
    with tenant_scope(tenant), translation.override(_language(request, tenant, contact)):
        errors: dict[str, Any] = {}
        body = ""
        if request.method == "POST":
            body = request.POST.get("body", "")
            try:
                webchat_receive(tenant=tenant, account=account, contact=contact, text=body,
                                nonce=request.POST.get("nonce", ""))
            except ValidationFailed as exc:
                errors = exc.fields
            else:
                if request.headers.get("HX-Request") != "true":
                    return redirect("messaging:webchat", token=token)
                body = ""
        context = {"state": "ok", "organization": tenant.name, "contact": contact,
                   "thread": _thread(tenant, account, contact), "token": token,
                   "nonce": secrets.token_urlsafe(12), "errors": errors, "body": body,
                   "poll": POLL_SECONDS}
        if request.headers.get("HX-Request") == "true":
            return render(request, "messaging/partials/webchat_body.html", context,
                          status=422 if errors else 200)
        return render(request, "messaging/webchat.html", context, status=422 if errors else 200)


def webchat_messages(request: HttpRequest, token: str) -> HttpResponse:
    found = _resolve(token)
    if found is None:
        return _not_found(request)
    tenant, account, contact = found
    with tenant_scope(tenant), translation.override(_language(request, tenant, contact)):
        return render(request, "messaging/partials/webchat_thread.html", {
            "thread": _thread(tenant, account, contact), "token": token, "poll": POLL_SECONDS})


urlpatterns = [
    path("chat/<str:token>/", webchat, name="webchat"),
    path("chat/<str:token>/messages/", webchat_messages, name="webchat-messages"),
]
