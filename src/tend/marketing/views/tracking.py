"""The public tracking endpoints of campaign messages, outside `/o/` and without sign-in:

- `/t/<token>/<channel>/<run>/<contact>/o.gif` — the open pixel of HTML email: always answers
  the 1x1 GIF (a bad link records nothing), never cached;
- `/t/<token>/<channel>/<run>/<contact>/l/<n>/` — a tracked link: records the click and
  redirects to the campaign's link number `n`; a bad token or link number answers 404.

The token is signed (`services.tracking.tracking_token`) and names the organization and the
campaign; the rest of the path only says which message it was. Never a 500.
"""

from __future__ import annotations

import base64
import logging

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.http import require_GET

from tend.core.models import Tenant
from tend.core.tenancy import tenant_scope
from tend.marketing.models import Campaign
from tend.marketing.services.tracking import click_record, open_record, tracking_read
from tend.messaging.choices import ChannelKind

logger = logging.getLogger(__name__)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _campaign(token: str, channel: str) -> tuple[Tenant, Campaign] | None:
    try:
        tenant_id, campaign_id = tracking_read(token)
    except signing.BadSignature:
        return None
    if channel not in ChannelKind.values:
        return None
    tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
    if tenant is None:
        return None
    with tenant_scope(tenant):
        campaign = Campaign.objects.filter(tenant=tenant, pk=campaign_id).first()
    return (tenant, campaign) if campaign is not None else None


def _pixel() -> HttpResponse:
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, max-age=0"
    return response


@require_GET
def track_open(request: HttpRequest, token: str, channel: str, run: str,
               contact: str) -> HttpResponse:
    found = _campaign(token, channel)
    if found is not None:
        tenant, campaign = found
        try:
            with tenant_scope(tenant):
                open_record(tenant=tenant, campaign=campaign, channel=channel, run_key=run,
                            contact_hex=contact,
                            user_agent=request.headers.get("User-Agent", "")[:500])
        except Exception:  # the pixel must load whatever happens to the record
            logger.exception("campaign open not recorded")
    return _pixel()


@require_GET
def track_click(request: HttpRequest, token: str, channel: str, run: str, contact: str,
                number: int) -> HttpResponse:
    found = _campaign(token, channel)
    if found is None:
        raise Http404
    tenant, campaign = found
    with tenant_scope(tenant):
        url = click_record(tenant=tenant, campaign=campaign, channel=channel, run_key=run,
                           contact_hex=contact, link_number=number,
                           user_agent=request.headers.get("User-Agent", "")[:500])
    if url is None:
        raise Http404
    return HttpResponseRedirect(url)


_PREFIX = "t/<str:token>/<str:channel>/<str:run>/<str:contact>/"
urlpatterns = [
    path(f"{_PREFIX}o.gif", track_open, name="track-open"),
    path(f"{_PREFIX}l/<int:number>/", track_click, name="track-click"),
]
