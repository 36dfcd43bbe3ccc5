"""Requests to addresses an organization chose (outbound webhook subscriptions, journey WEBHOOK
steps) go only to public http(s) hosts, so nobody can make the server call its own loopback,
the private network or a cloud metadata endpoint (server-side request forgery).

`url_problem(url)` checks a URL when it is saved; `public_target(url)` checks it again when the
request is made (DNS may have changed since) and pins the request to the address it checked,
so a name that resolves to a public address for the check and a private one for the request
(DNS rebinding) cannot slip through. `TEND_WEBHOOKS_ALLOW_PRIVATE` switches the address check
off (the test suite's receivers listen on 127.0.0.1; an install whose receivers live on its
own network may need it too).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

MAX_URL_LENGTH = 500


class UnsafeURL(ValueError):
    """The URL may not be requested; the message says why (shown to staff)."""


@dataclass(frozen=True)
class Target:
    """Where to send a request for a checked URL: `url` (its host name replaced by the
    checked address), the `headers` and httpx `extensions` that keep the original name for
    the Host header and for TLS (SNI and the certificate check)."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)
    name: str = ""  # the URL's host name (a pooled connection is for this name only)


def _allow_private() -> bool:
    return bool(getattr(settings, "TEND_WEBHOOKS_ALLOW_PRIVATE", False))


def _parse(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise UnsafeURL(_("Enter an http or https URL.")) from None
    if (parsed.scheme not in ("http", "https") or not parsed.host
            or len(url) > MAX_URL_LENGTH):
        raise UnsafeURL(_("Enter an http or https URL."))
    return parsed


def is_public_address(address: str) -> bool:
    """Whether `address` (an IPv4 or IPv6 literal) may be called: not loopback, private,
    link-local, multicast, reserved, unspecified or otherwise not globally routable (an
    IPv4-mapped IPv6 address is judged as the IPv4 address it carries; a 6to4 address is
    refused when the IPv4 address it carries is)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if (isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None
            and not is_public_address(str(ip.sixtofour))):  # 6to4 of a private IPv4
        return False
    return not (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified) and ip.is_global


def _is_literal(host: str) -> bool:
    """Whether `host` is an IP address (in any spelling, such as `2001:DB8:0::1`)."""
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _resolve(parsed: httpx.URL) -> list[str]:
    """Every address the URL's host resolves to (a literal address is itself)."""
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    infos = socket.getaddrinfo(parsed.host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_PRIVATE = gettext_noop("This address points to a local or private network; give a public one.")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be saved as a webhook address, or None. A host that does not resolve
    now is accepted (its DNS may come later); the check at request time refuses it then."""
    try:
        parsed = _parse(url)
    except UnsafeURL as exc:
        return str(exc)
    if _allow_private():
        return None
    try:
        addresses = _resolve(parsed)
    except (OSError, UnicodeError):
        return None
    if not all(is_public_address(a) for a in addresses):
        return _(_PRIVATE)
    return None


def public_target(url: str) -> Target:
    """Check `url` now and say where to send the request (see `Target`). Raises `UnsafeURL`
    for a bad scheme, a host that does not resolve, or any resolved address that is not
    public (with `TEND_WEBHOOKS_ALLOW_PRIVATE` any resolved address will do)."""
    parsed = _parse(url)
    try:
        addresses = _resolve(parsed)
    except (OSError, UnicodeError):
        raise UnsafeURL(_("The host name does not resolve.")) from None
    if not addresses:
        raise UnsafeURL(_("The host name does not resolve."))
    if not _allow_private() and not all(is_public_address(a) for a in addresses):
        raise UnsafeURL(_(_PRIVATE))
    name = parsed.host
    if addresses == [name] or _is_literal(name):  # an address literal: nothing to pin
        return Target(url=str(parsed), name=name)
    host_header = name if parsed.port is None else f"{name}:{parsed.port}"
    extensions = {"sni_hostname": name} if parsed.scheme == "https" else {}
    return Target(url=str(parsed.copy_with(host=addresses[0])),
                  headers={"Host": host_header}, extensions=extensions, name=name)
