"""This installation's public origin (`https://crm.example.org`): where providers post
webhooks, where links in messages, emails and OAuth callbacks point.

`TEND_PUBLIC_URL` when it is set; else the origin of the request being served (scheme and
host as it came in); else the origin of a URL Tend gave out earlier (an account's webhook
URL); else "" (callers then leave links relative or leave them out)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest


def public_origin(request: HttpRequest | None = None, *, fallback_url: str = "") -> str:
    """The public origin without a trailing slash (see the module's docstring)."""
    configured = str(getattr(settings, "TEND_PUBLIC_URL", "") or "").rstrip("/")
    if configured:
        return configured
    if request is not None:
        return f"{request.scheme}://{request.get_host()}"
    parts = urlsplit(fallback_url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""

