"""The social provider interface and its registry.

An adapter never touches the database: the services hand it the connection's settings and
decrypted token and record what it returns. Errors are `SocialError` with `permanent`
(retrying cannot help: bad content, missing media) and `auth` (the token was refused: the
connection needs attention).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx

TIMEOUT_SECONDS = 20.0


class SocialError(Exception):
    def __init__(self, message: str, *, permanent: bool = False, auth: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or auth
        self.auth = auth


@dataclass(frozen=True)
class Account:
    """Who a token belongs to, as the platform says."""

    account_id: str
    name: str
    scopes: list[str] = field(default_factory=list)
    # The public handle where the platform's post URLs need it (X, TikTok).
    handle: str = ""


@dataclass(frozen=True)
class PostContent:
    text: str
    link: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Published:
    post_id: str
    url: str = ""


@dataclass(frozen=True)
class Metrics:
    likes: int = 0
    comments: int = 0
    shares: int = 0
    impressions: int = 0


@dataclass(frozen=True)
class Conn:
    """What an adapter gets of a connection."""

    account_id: str
    token: str
    settings: dict[str, Any]


class SocialProvider:
    platform: ClassVar[str]
    default_api_base: ClassVar[str]
    # Whether a post needs at least one image or video.
    needs_media: ClassVar[bool] = False
    max_text: ClassVar[int] = 5000

    def api_base(self, conn: Conn) -> str:
        return str(conn.settings.get("api_base") or self.default_api_base).rstrip("/")

    def client(self, conn: Conn) -> httpx.Client:
        return httpx.Client(base_url=self.api_base(conn), timeout=TIMEOUT_SECONDS)

    def check(self, conn: Conn) -> Account:
        """Who the token belongs to; `SocialError(auth=True)` when it is refused."""
        raise NotImplementedError

    def publish(self, conn: Conn, content: PostContent) -> Published:
        raise NotImplementedError

    def metrics(self, conn: Conn, post_id: str) -> Metrics:
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def answer(response: httpx.Response) -> Any:
        """The JSON of a successful answer, or the right `SocialError`."""
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}
        if response.status_code in (401, 403):
            raise SocialError(_message(data) or f"HTTP {response.status_code}", auth=True)
        if response.status_code == 429 or response.status_code >= 500:
            raise SocialError(_message(data) or f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SocialError(_message(data) or f"HTTP {response.status_code}", permanent=True)
        return data

    @staticmethod
    def call(func: Any, *args: Any, **kwargs: Any) -> httpx.Response:
        try:
            return func(*args, **kwargs)
        except httpx.HTTPError as exc:
            raise SocialError(f"{type(exc).__name__}: {exc}") from exc


def _message(data: Any) -> str:
    if not isinstance(data, dict):
        return ""
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "")[:500]
    if isinstance(error, str):
        return error[:500]
    for key in ("detail", "title", "message"):
        if data.get(key):
            return str(data[key])[:500]
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message") or "")[:500]
    return ""


_providers: dict[str, SocialProvider] = {}


def register_social_provider(provider: SocialProvider) -> None:
    _providers[provider.platform] = provider


def social_provider(platform: str) -> SocialProvider:
    try:
        return _providers[platform]
    except KeyError:
        raise LookupError(f"no social provider for {platform!r}") from None
