"""HTTP for the providers' API calls: keep-alive urllib3 connection pools.

Every provider request goes through an `ApiClient` from its module's `ClientPool`: one
client per API address and sending thread, each with its own small pool of keep-alive
connections, all sharing one SSL context (the costly part of building one). The outbox's
sending threads therefore never wait on each other's locks.

urllib3 rather than httpx on this path because it is the outbox's hot loop: a sendMessage
round trip to the local fake Bot API costs about 250 µs of client CPU through urllib3 against
480 µs through httpx's synchronous client (see docs/benchmarks.md, W3).

The client does what the providers need and no more: JSON, form and raw bodies, query
parameters, basic auth, a connect and a read timeout, no retries (a POST that might have
reached the provider is never sent again here; the outbox decides) and no redirects. No answer
at all is a `TransportError` (`TransportTimeout` when it was a timeout), and so is an answer
larger than `MAX_ANSWER_BYTES`, which is never read whole.
"""

from __future__ import annotations

import json as jsonlib
import ssl
import threading
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import urllib3
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

USER_AGENT = "Tend"
# The most of an answer read (the providers' answers are a few kilobytes; a larger one is
# refused as a `TransportError`, not read into memory).
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class TransportError(Exception):
    """The API gave no answer: it could not be reached, or the connection broke."""


class TransportTimeout(TransportError):
    """The API did not connect or answer in time."""


@dataclass(frozen=True, slots=True)
class Timeout:
    """Seconds to wait for an answer (`read`, between bytes) and for a connection."""

    read: float
    connect: float


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """An API's answer, read whole."""

    status_code: int
    content: bytes
    headers: Any  # urllib3's case-insensitive HTTPHeaderDict

    def json(self) -> Any:
        """The body as JSON (ValueError when it is not)."""
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def reason_phrase(self) -> str:
        try:
            return HTTPStatus(self.status_code).phrase
        except ValueError:
            return ""


class ApiClient:
    """Requests to one API address (`https://host[:port][/prefix]`) over keep-alive
    connections. Not shared between threads (see `ClientPool`)."""

    def __init__(self, base: str, timeout: Timeout, *, ssl_context: ssl.SSLContext | None,
                 max_connections: int = 2) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"Not an http(s) address: {base!r}")
        self.prefix = parts.path.rstrip("/")
        options: dict[str, Any] = {
            "maxsize": max_connections, "block": False, "retries": False,
            "timeout": urllib3.Timeout(connect=timeout.connect, read=timeout.read)}
        self._pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            self._pool = urllib3.HTTPSConnectionPool(parts.hostname, parts.port or 443,
                                                     ssl_context=ssl_context, **options)
        else:
            self._pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port or 80, **options)

    def request(self, method: str, path: str, *, json: Any = None,
                data: dict[str, Any] | None = None, content: bytes | None = None,
                params: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None) -> ApiResponse:
        """Send one request and read its answer; `TransportError` when there is none."""
        sent = {"User-Agent": USER_AGENT, "Accept": "*/*", **(headers or {})}
        body = content
        if json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"),
                                 allow_nan=False).encode()
            sent.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = urlencode(data, doseq=True).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if auth is not None:
            sent.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        url = self.prefix + ("" if path.startswith("/") else "/") + path
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        try:
            response = self._pool.urlopen(method, url, body=body, headers=sent,
                                          redirect=False, retries=False,
                                          preload_content=False)
            try:
                content = response.read(MAX_ANSWER_BYTES + 1)
                if len(content) > MAX_ANSWER_BYTES:
                    raise TransportError(f"The answer is larger than {MAX_ANSWER_BYTES} bytes.")
            except BaseException:
                response.close()  # not read to its end: the connection is not reused
                raise
            finally:
                response.release_conn()
        except MaxRetryError as exc:  # not raised with retries off, but keep its cause
            raise _transport_error(exc.reason or exc) from exc
        except Urllib3Error as exc:
            raise _transport_error(exc) from exc
        except OSError as exc:
            raise TransportError(str(exc) or type(exc).__name__) from exc
        return ApiResponse(status_code=response.status, content=content,
                           headers=response.headers)

    def get(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> ApiResponse:
        return self.request("POST", path, **kwargs)

    def close(self) -> None:
        self._pool.close()


def _transport_error(exc: BaseException) -> TransportError:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, Urllib3Timeout | TimeoutError):
        return TransportTimeout(text)
    return TransportError(text)


class ClientPool:
    """Keep-alive API clients for a provider module, one per API address and sending thread.

    One client shared by the outbox's sending threads would serialize them on its
    connection pool's lock: with 32 threads, waking each other on that lock cost more CPU
    than the requests. Each thread keeps its own client instead (a thread sends one request
    at a time, so `max_connections` of them is plenty), and all of them share one SSL
    context. A provider module keeps one pool."""

    def __init__(self, max_connections: int = 2) -> None:
        self.max_connections = max_connections
        self._local = threading.local()
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None

    def client(self, base: str, timeout: Timeout) -> ApiClient:
        """This thread's client for `base` (made with `timeout` the first time it is asked
        for)."""
        clients: dict[str, ApiClient] | None = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        client = clients.get(base)
        if client is None:
            client = clients[base] = ApiClient(
                base, timeout, max_connections=self.max_connections,
                ssl_context=self.ssl_context() if base.startswith("https:") else None)
        return client

    def ssl_context(self) -> ssl.SSLContext:
        """The SSL context every client of the pool verifies with (built once)."""
        if self._ssl is None:
            with self._lock:
                if self._ssl is None:
                    self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl
