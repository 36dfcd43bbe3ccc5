"""The signed inbound webhook of ingestion sources: `POST /hooks/sources/<key>`.

Outside `/o/`: the key names the source (and so the organization); the signature proves the
sender. Checks run in this order, and nothing is stored unless all pass: body size, source
lookup, signature and timestamp (constant-time, on the raw bytes, before any parsing), JSON
shape, and the source's rate limit (`TEND_INGEST_RATE_PER_MINUTE`; over it: 429 with
`Retry-After`). The items are then processed at once in the organization's scope and the
answer holds one result per item, as the API's `POST /activities` does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tend.core.api.base import problem_response
from tend.core.errors import TendError
from tend.core.tenancy import system_scope, tenant_scope
from tend.people.models import IngestionSource
from tend.people.services.ingestion import activities_ingest, ingest_body_parse
from tend.people.services.sources import signature_check, source_actor
from tend.ratelimit.services import rate_hit

MAX_BODY_BYTES = 1024 * 1024
TIMESTAMP_HEADER = "X-Tend-Timestamp"
SIGNATURE_HEADER = "X-Tend-Signature"


def _refused(request: HttpRequest, reason: str) -> HttpResponse:
    if reason == "timestamp":
        detail = _("The timestamp is missing or more than 5 minutes away from our clock.")
        code = "stale_timestamp"
    else:
        detail = _("The signature does not match, or this source is unknown or inactive.")
        code = "bad_signature"
    return problem_response(request, status=403, code=code, detail=detail)


def throttled(request: HttpRequest, wait: int) -> HttpResponse:
    """The 429 answer of a rate-limited ingestion request."""
    return problem_response(
        request, status=429, code="throttled",
        detail=_("Too many requests; retry after %(seconds)d seconds.") % {"seconds": wait},
        headers={"Retry-After": str(wait)})


def _too_large(request: HttpRequest) -> HttpResponse:
    return problem_response(request, status=413, code="payload_too_large",
                            detail=_("The body is larger than 1 MiB; send smaller batches."))


@csrf_exempt
@require_POST
def source_hook(request: HttpRequest, key: str) -> HttpResponse:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return _too_large(request)
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _too_large(request)
    with system_scope():
        # Keys are long and random, so looking one up across organizations is safe.
        source = IngestionSource.objects.filter(key=key).select_related("tenant").first()
    if source is not None and not source.tenant.is_active:
        source = None
    reason = signature_check(source=source, timestamp=request.headers.get(TIMESTAMP_HEADER),
                             signature=request.headers.get(SIGNATURE_HEADER), body=body)
    if reason or source is None:
        return _refused(request, reason or "signature")
    with tenant_scope(source.tenant):
        wait = rate_hit(tenant=source.tenant, scope=f"source:{source.pk}",
                        limit=settings.TEND_INGEST_RATE_PER_MINUTE)
        if wait:
            return throttled(request, wait)
        try:
            items, is_batch = ingest_body_parse(body)
            results = activities_ingest(tenant=source.tenant, actor=source_actor(source),
                                        items=items, source=source)
        except TendError as exc:
            return problem_response(
                request, status=exc.status, code=exc.code, detail=exc.message,
                errors=[{"field": name, "loc": name.split("."), "message": str(m)}
                        for name, messages in exc.fields.items() for m in messages],
            )
    counts = {"created": 0, "duplicate": 0, "error": 0}
    for result in results:
        counts[result.status] += 1
    answer: dict[str, Any] = (
        {"items": [r.as_dict() for r in results], "counts": counts} if is_batch
        else results[0].as_dict()
    )
    return JsonResponse(answer, status=200, json_dumps_params={"ensure_ascii": False})


urlpatterns = [
    path("hooks/sources/<str:key>", source_hook, name="hooks-source"),
]
