"""Inbound webhooks of channel accounts: `/hooks/messaging/<webhook_key>/`.

Outside `/o/`: the random key names the account (and so the organization); the provider's own
proof (Telegram's secret token header, WhatsApp's `X-Hub-Signature-256`, Twilio's
signature) is checked on the raw bytes, constant-time, before anything is parsed. Nothing is
stored unless it passes (403). The events are stored raw in one `INSERT … ON CONFLICT DO
NOTHING` and the request is answered at once; one drain job per account and burst processes
them in the background (`services.inbound_drain`; docs/messaging-inbound.md). The view runs
outside a transaction, so the events commit before the drain is asked for.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from tend.core.api.base import problem_response
from tend.core.tenancy import system_scope, tenant_scope
from tend.messaging.choices import AccountStatus
from tend.messaging.models import ChannelAccount
from tend.messaging.providers import provider_for
from tend.messaging.services.inbound import inbound_store

MAX_BODY_BYTES = 2 * 1024 * 1024


def _account(key: str) -> ChannelAccount | None:
    with system_scope():
        account = (ChannelAccount.objects.filter(webhook_key=key)
                   .exclude(status=AccountStatus.DISABLED).select_related("tenant").first())
    if account is None or not account.tenant.is_active:
        return None
    return account


def _forbidden(request: HttpRequest) -> HttpResponse:
    return problem_response(request, status=403, code="bad_signature",
                            detail=_("The signature does not match, or this account is unknown."))


@csrf_exempt
def channel_hook(request: HttpRequest, key: str) -> HttpResponse:
    account = _account(key)
    if request.method == "GET":
        answer = None
        if account is not None:
            with tenant_scope(account.tenant):
                answer = provider_for(account.kind).handshake(account, request)
        return answer if answer is not None else _forbidden(request)
    if request.method != "POST":
        return problem_response(request, status=405, code="method_not_allowed",
                                detail=_("Use POST."), headers={"Allow": "GET, POST"})
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return problem_response(request, status=413, code="payload_too_large",
                                detail=_("The body is too large."))
    raw = request.body
    if account is None:
        return _forbidden(request)
    provider = provider_for(account.kind)
    with tenant_scope(account.tenant):
        if not provider.verify(account, request, raw):
            return _forbidden(request)
        try:
            items = provider.split(account, raw)
        except ValueError as exc:
            return problem_response(request, status=400, code="bad_body",
                                    detail=_("The body could not be read: %(error)s")
                                    % {"error": exc})
        new = inbound_store(account=account, items=items)
    answer = provider.acknowledge(account, items, len(new))
    return answer if answer is not None else JsonResponse({"received": len(items),
                                                            "new": len(new)})


urlpatterns = [
    path("hooks/messaging/<str:key>/", channel_hook, name="channel-hook"),
]
