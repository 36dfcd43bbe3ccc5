"""Connecting a social account by signing in at the platform (OAuth 2.0 authorization code
with PKCE), next to pasting a token.

The organization's staff member is sent to the platform's authorize URL; the platform sends
the browser back to our callback with a one-time `code`, which we exchange at the token
endpoint for the access (and refresh) token. This module knows each platform's endpoints
and parameter names and speaks HTTP; it never touches the database (the service stores the
token, encrypted, after asking the platform whose it is).

The platform app's client id and secret come from `settings.TEND_SOCIAL_OAUTH[platform]`
(environment `TEND_SOCIAL_<PLATFORM>_CLIENT_ID` / `_CLIENT_SECRET`); `authorize_url`,
`token_url` and `api_base` there override the platform's own (a regional host, a test
server). A platform without a client id offers only the pasted token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from tend.marketing.social.base import TIMEOUT_SECONDS, SocialError


@dataclass(frozen=True)
class OAuthSpec:
    """Where and how one platform runs the authorization-code flow."""

    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    # TikTok calls the client id `client_key`.
    client_param: str = "client_id"
    # "basic": client id and secret as HTTP basic auth (X); "body": as form fields.
    client_auth: str = "body"
    scope_separator: str = " "


SPECS: dict[str, OAuthSpec] = {
    "TWITTER": OAuthSpec("https://x.com/i/oauth2/authorize",
                         "https://api.x.com/2/oauth2/token",
                         ("tweet.read", "tweet.write", "users.read", "offline.access"),
                         client_auth="basic"),
    "LINKEDIN": OAuthSpec("https://www.linkedin.com/oauth/v2/authorization",
                          "https://www.linkedin.com/oauth/v2/accessToken",
                          ("openid", "profile", "w_member_social")),
    "TIKTOK": OAuthSpec("https://www.tiktok.com/v2/auth/authorize/",
                        "https://open.tiktokapis.com/v2/oauth/token/",
                        ("user.info.basic", "video.publish", "video.list"),
                        client_param="client_key", scope_separator=","),
}


@dataclass(frozen=True)
class App:
    """The platform app the organization signs in through."""

    platform: str
    spec: OAuthSpec
    client_id: str
    client_secret: str
    authorize_url: str
    token_url: str
    api_base: str


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str = ""
    expires_in: int | None = None
    scopes: tuple[str, ...] = ()


def oauth_app(platform: str) -> App | None:
    """The configured app for `platform`, or None (no OAuth sign-in there)."""
    spec = SPECS.get(platform)
    conf: dict[str, Any] = dict((getattr(settings, "TEND_SOCIAL_OAUTH", None) or {})
                                .get(platform) or {})
    if spec is None or not conf.get("client_id"):
        return None
    return App(platform=platform, spec=spec, client_id=str(conf["client_id"]),
               client_secret=str(conf.get("client_secret") or ""),
               authorize_url=str(conf.get("authorize_url") or spec.authorize_url),
               token_url=str(conf.get("token_url") or spec.token_url),
               api_base=str(conf.get("api_base") or ""))


def oauth_platforms() -> list[str]:
    """The platforms with a configured app, in the order of SPECS."""
    return [p for p in SPECS if oauth_app(p) is not None]


def pkce_pair() -> tuple[str, str]:
    """A fresh (verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def authorize_url(app: App, *, redirect_uri: str, state: str, challenge: str) -> str:
    """Where to send the browser to ask the person for access."""
    query = {"response_type": "code", app.spec.client_param: app.client_id,
             "redirect_uri": redirect_uri, "state": state,
             "scope": app.spec.scope_separator.join(app.spec.scopes),
             "code_challenge": challenge, "code_challenge_method": "S256"}
    sep = "&" if "?" in app.authorize_url else "?"
    return app.authorize_url + sep + urlencode(query)


def exchange_code(app: App, *, code: str, redirect_uri: str, verifier: str) -> Tokens:
    """Trade the one-time `code` for tokens. Raises SocialError with the platform's own
    reason (`auth` when the platform refused our app or the code)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier, app.spec.client_param: app.client_id}
    headers = {"Accept": "application/json"}
    if app.spec.client_auth == "basic":
        pair = f"{app.client_id}:{app.client_secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form["client_secret"] = app.client_secret
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS) as client:
            response = client.post(app.token_url, data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise SocialError(f"the token endpoint could not be reached ({exc})") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    token = str(data.get("access_token") or "")
    if response.status_code >= 400 or not token:
        reason = (data.get("error_description") or data.get("error")
                  or f"HTTP {response.status_code}")
        raise SocialError(str(reason)[:500], auth=response.status_code in (400, 401, 403))
    try:
        expires = int(data["expires_in"]) if data.get("expires_in") is not None else None
    except (TypeError, ValueError):
        expires = None
    scope = str(data.get("scope") or "")
    return Tokens(access_token=token, refresh_token=str(data.get("refresh_token") or ""),
                  expires_in=expires,
                  scopes=tuple(s for s in scope.replace(",", " ").split() if s))
