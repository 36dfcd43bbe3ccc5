"""What every fake provider server shares.

A fake runs its own asyncio loop in a daemon thread and listens on an ephemeral port of
127.0.0.1. HTTP fakes speak HTTP/1.1 with keep-alive through a small parser on
`asyncio.Protocol` (no `http.server`: a throughput benchmark pushes thousands of requests per
second through them).

Everything a fake receives is recorded under one lock, so a test thread can read while the
loop thread writes: the requests themselves (`requests()`), and per rate key the monotonic
receive times (`timestamps()`, `max_rate()`). Responses can be scripted (`script()`) or made
to fail at random with a seed (`fail_randomly()`).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import json
import random
import threading
import time
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

import httpx

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
_PHRASES = {status.value: status.phrase for status in HTTPStatus}


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response a fake sends (or a fault script injects)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Response:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return cls(status, body, tuple(headers))

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        return cls(status, text.encode(), (), "text/plain; charset=utf-8")

    def encode(self, *, close: bool) -> bytes:
        phrase = _PHRASES.get(self.status, "Unknown")
        lines = [
            f"HTTP/1.1 {self.status} {phrase}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body)}",
        ]
        lines.extend(f"{k}: {v}" for k, v in self.headers)
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True, slots=True)
class Delay:
    """Hold the response for `seconds` (longer than the client's timeout to make it time out).

    The request is processed when it arrives (a message is accepted and recorded), only the
    answer is late: the "provider accepted, we never heard" case. `response` replaces the
    normal answer when given (then nothing is processed)."""

    seconds: float
    response: Response | None = None


@dataclass(frozen=True, slots=True)
class Drop:
    """Close the connection without answering. With `process=True` the request takes effect
    first (accepted but the answer lost); `reset=True` aborts (RST) instead of closing."""

    process: bool = False
    reset: bool = False


Fault = Response | Delay | Drop


@dataclass(frozen=True, slots=True)
class FilePart:
    """A file uploaded in a multipart/form-data body."""

    filename: str
    content_type: str
    content: bytes


@dataclass(slots=True)
class Request:
    """One request a fake received. `data` is the parsed body merged over the query string:
    a JSON value, or a dict of form fields (files as `FilePart`). `op` is the provider
    operation (`sendMessage`, `messages`, …); `keys` the rate keys it counted under."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    data: Any
    received_at: float
    op: str = ""
    keys: tuple[str, ...] = ()
    fault: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


class FakeServer:
    """A fake on 127.0.0.1 with its own loop thread. Subclasses provide the protocol."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0,
                 record_requests: bool = True) -> None:
        self.host = host
        self.port = port
        self.record_requests = record_requests
        self.lock = threading.RLock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._transports: set[asyncio.Transport] = set()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._init_records()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name=type(self).__name__, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"{type(self).__name__} failed to start") from self._error
        return self

    def stop(self) -> None:
        """Stop serving (open connections are reset). `start()` again listens on the same
        port with the records and state kept: a provider outage and its recovery."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(self._shutdown)
        thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                loop.create_server(self._protocol, self.host, self.port, backlog=1024))
            self.port = self._server.sockets[0].getsockname()[1]
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self) -> None:
        assert self._loop is not None
        if self._server is not None:
            self._server.close()
        for transport in list(self._transports):
            transport.abort()
        self._loop.stop()

    def _protocol(self) -> asyncio.Protocol:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- records -------------------------------------------------------------------------

    def _init_records(self) -> None:
        self._requests: list[Request] = []
        self._times: dict[str, array[float]] = {}
        self._counts: collections.Counter[str] = collections.Counter()
        self._script: collections.deque[tuple[str | None, Fault]] = collections.deque()
        self._random: tuple[random.Random, float, tuple[Fault, ...], str | None] | None = None
        self._limits: list[tuple[str, int, float, Response]] = []

    def reset(self) -> None:
        """Forget every request, timestamp, script and random failure, and the fake's own
        state (sent messages, counters, provider settings made through the fake's API)."""
        with self.lock:
            self._init_records()
            self._reset_state()

    def _reset_state(self) -> None:
        """Subclasses clear their provider state here."""

    def _record(self, request: Request) -> None:
        """Count `request` under its op and keys (caller holds the lock)."""
        self._counts[request.op] += 1
        at = request.received_at
        for key in request.keys:
            stamps = self._times.get(key)
            if stamps is None:
                stamps = self._times[key] = array("d")
            stamps.append(at)
        if self.record_requests:
            self._requests.append(request)

    def requests(self, op: str | None = None) -> list[Request]:
        """The recorded requests (all, or those of one operation), oldest first."""
        with self.lock:
            if op is None:
                return list(self._requests)
            return [r for r in self._requests if r.op == op]

    def count(self, op: str | None = None) -> int:
        """How many requests arrived (of one operation), recorded or not."""
        with self.lock:
            return sum(self._counts.values()) if op is None else self._counts[op]

    def timestamps(self, key: str) -> list[float]:
        """`time.monotonic()` receive times of the requests counted under `key`."""
        with self.lock:
            return list(self._times.get(key, ()))

    def rate_keys(self) -> list[str]:
        with self.lock:
            return sorted(self._times)

    def max_rate(self, key: str, window_seconds: float = 1.0) -> int:
        """The most requests under `key` received within any window of `window_seconds`
        (a sliding window: [t, t + window) for every receive time t). A limit of N per
        window was never exceeded when this is ≤ N. Times are taken on arrival, so network
        jitter can bring two paced requests slightly closer than the client sent them."""
        stamps = self.timestamps(key)
        stamps.sort()
        best = start = 0
        for i, t in enumerate(stamps):
            while t - stamps[start] >= window_seconds:
                start += 1
            best = max(best, i - start + 1)
        return best

    # -- faults --------------------------------------------------------------------------

    def script(self, *faults: Fault, times: int = 1, op: str | None = None) -> None:
        """Queue faults: each matching request (of operation `op`, or any) takes the next
        one instead of its normal answer. `times` repeats the whole sequence."""
        with self.lock:
            for _ in range(times):
                for fault in faults:
                    self._script.append((op, fault))

    def fail_randomly(self, rate: float, *, seed: int = 0, faults: Iterable[Fault] = (),
                      op: str | None = None) -> None:
        """Answer a fraction `rate` of matching requests with one of `faults` (the fake's
        default transient errors when empty), chosen by a generator seeded with `seed`.
        `rate=0` switches it off."""
        chosen = tuple(faults) or self.default_faults()
        with self.lock:
            self._random = (random.Random(seed), rate, chosen, op)  # noqa: S311 - test faults if rate > 0 else None

    def default_faults(self) -> tuple[Fault, ...]:
        return (Response.json(503, {"error": "unavailable"}),)

    def enforce_rate(self, key_prefix: str, limit: int, window_seconds: float = 1.0, *,
                     retry_after: int = 1, response: Response | None = None) -> None:
        """Behave like the provider's own limiter: a request counted under a key starting
        with `key_prefix` (`"chat:"`, `"bot:"`, `"phone:"`…) that already has `limit`
        requests in the last `window_seconds` is answered with the provider's 429 (or
        `response`). Every arrival counts, refused ones too, as providers count them."""
        with self.lock:
            self._limits.append((key_prefix, limit, window_seconds,
                                 response or self.rate_limit_response(retry_after)))

    def rate_limit_response(self, retry_after: int) -> Response:
        """The provider's answer to a client over its rate limit."""
        return Response.json(429, {"error": "rate limited"}, (("Retry-After", str(retry_after)),))

    def _over_limit(self, request: Request) -> Response | None:
        """The limit answer for `request` if a rate limit is exceeded (caller holds the lock)."""
        for prefix, limit, window, response in self._limits:
            for key in request.keys:
                stamps = self._times.get(key)
                if stamps and key.startswith(prefix):
                    recent = len(stamps) - bisect.bisect_right(
                        stamps, request.received_at - window)
                    if recent >= limit:
                        return response
        return None

    def pending_faults(self) -> int:
        with self.lock:
            return len(self._script)

    def _take_fault(self, op: str) -> Fault | None:
        """The fault for the request of `op` about to be handled (caller holds the lock)."""
        if self._script:
            for i, (want, fault) in enumerate(self._script):
                if want is None or want == op:
                    del self._script[i]
                    return fault
        if self._random is not None:
            rng, rate, faults, want = self._random
            if (want is None or want == op) and rng.random() < rate:
                return rng.choice(faults)
        return None


class FakeHTTPServer(FakeServer):
    """An HTTP/1.1 fake. Subclasses implement `route()` (operation and rate keys of a request)
    and `handle()` (its normal answer), both called on the loop thread with the lock held."""

    def _protocol(self) -> asyncio.Protocol:
        return _HTTPProtocol(self)

    def route(self, request: Request) -> None:
        """Set `request.op` and `request.keys`."""

    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def dispatch(self, request: Request) -> Fault:
        """The answer to `request`: a fault from the script or the random failures, or the
        normal answer. Runs on the loop thread."""
        with self.lock:
            try:
                self.route(request)
            except _Reject as reject:
                self._record(request)
                return reject.response
            limited = self._over_limit(request) if self._limits else None
            fault = None if limited is not None else self._take_fault(request.op)
            if fault is not None:
                request.fault = type(fault).__name__
            self._record(request)
            if limited is not None:
                request.fault = "rate limit"
                return limited
            if isinstance(fault, Response):
                return fault
            if isinstance(fault, Drop):
                if fault.process:
                    self._safe_handle(request)
                return fault
            if isinstance(fault, Delay):
                if fault.response is not None:
                    return fault
                return Delay(fault.seconds, self._safe_handle(request))
            return self._safe_handle(request)

    def _safe_handle(self, request: Request) -> Response:
        try:
            return self.handle(request)
        except _Reject as reject:
            return reject.response


class _Reject(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def reject(response: Response) -> _Reject:
    """`raise reject(response)` inside `route()`/`handle()` answers with `response`."""
    return _Reject(response)


def parse_body(content_type: str, body: bytes) -> Any:
    """JSON, urlencoded or multipart body → a JSON value or a dict of fields."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return {}
    if kind == "application/json" or (kind.endswith("+json")):
        return json.loads(body)
    if kind == "application/x-www-form-urlencoded":
        return form_dict(parse_qsl(body.decode(), keep_blank_values=True))
    if kind == "multipart/form-data":
        return parse_multipart(content_type, body)
    try:
        return json.loads(body)
    except ValueError:
        return {}


def form_dict(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Form pairs → dict; a repeated field becomes a list of its values."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def parse_multipart(content_type: str, body: bytes) -> dict[str, Any]:
    boundary = ""
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise ValueError("multipart body without a boundary")
    pairs: list[tuple[str, Any]] = []
    delimiter = b"--" + boundary.encode()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        params: dict[str, str] = {}
        for piece in headers.get("content-disposition", "").split(";")[1:]:
            key, _, value = piece.strip().partition("=")
            params[key.lower()] = value.strip('"')
        name = params.get("name", "")
        if "filename" in params:
            pairs.append((name, FilePart(params["filename"],
                                         headers.get("content-type", "application/octet-stream"),
                                         content)))
        else:
            pairs.append((name, content.decode("utf-8", "replace")))
    return form_dict(pairs)


class _HTTPProtocol(asyncio.Protocol):
    """A minimal HTTP/1.1 server connection: Content-Length bodies, keep-alive, pipelining
    answered in order."""

    def __init__(self, server: FakeHTTPServer) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.head: tuple[str, str, str, dict[str, str], int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._transports.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.server._transports.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.busy:
            self._process()

    def _fail(self, status: int) -> None:
        assert self.transport is not None
        self.transport.write(Response.text(status, HTTPStatus(status).phrase).encode(close=True))
        self.transport.close()
        self.buffer.clear()

    def _process(self) -> None:
        transport = self.transport
        assert transport is not None
        while not self.busy and not transport.is_closing():
            if self.head is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(self.buffer) > MAX_HEAD:
                        self._fail(431)
                    return
                head = self.buffer[:end].decode("latin-1")
                del self.buffer[:end + 4]
                request_line, _, rest = head.partition("\r\n")
                try:
                    method, target, version = request_line.split(" ")
                except ValueError:
                    self._fail(400)
                    return
                headers: dict[str, str] = {}
                for line in rest.split("\r\n"):
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    self._fail(411)
                    return
                try:
                    length = int(headers.get("content-length", "0"))
                except ValueError:
                    self._fail(400)
                    return
                if length > MAX_BODY:
                    self._fail(413)
                    return
                self.head = (method, target, version, headers, length)
            method, target, version, headers, length = self.head
            if len(self.buffer) < length:
                return
            body = bytes(self.buffer[:length])
            del self.buffer[:length]
            self.head = None
            connection = headers.get("connection", "").lower()
            close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
            self._respond(method, target, headers, body, close)

    def _respond(self, method: str, target: str, headers: dict[str, str], body: bytes,
                 close: bool) -> None:
        transport = self.transport
        assert transport is not None
        received_at = time.monotonic()
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        try:
            data = parse_body(headers.get("content-type", ""), body)
        except (ValueError, UnicodeDecodeError):
            data = None
        request = Request(method, split.path, query, headers, body, data, received_at)
        try:
            answer = self.server.dispatch(request)
        except Exception as exc:  # a bug in a fake must not hang the client
            answer = Response.text(500, f"fake server error: {exc!r}")
        if isinstance(answer, Response):
            transport.write(answer.encode(close=close))
            if close:
                transport.close()
        elif isinstance(answer, Drop):
            if answer.reset:
                transport.abort()
            else:
                transport.close()
        else:
            self.busy = True
            transport.pause_reading()
            response = answer.response or Response(204)
            asyncio.get_running_loop().call_later(
                answer.seconds, self._finish_delayed, response, close)

    def _finish_delayed(self, response: Response, close: bool) -> None:
        transport = self.transport
        assert transport is not None
        self.busy = False
        if transport.is_closing():
            return
        transport.write(response.encode(close=close))
        if close:
            transport.close()
            return
        transport.resume_reading()
        self._process()


def new_counter(start: int = 1) -> Callable[[], int]:
    """A thread-safe increasing counter."""
    lock = threading.Lock()
    state = [start - 1]

    def next_value() -> int:
        with lock:
            state[0] += 1
            return state[0]

    return next_value


@dataclass(slots=True)
class WebhookCall:
    """A webhook request a fake built: the raw body and headers to send, so a test can post
    it through httpx (`deliver`) or through Django's test client."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def send(self, *, timeout: float = 10.0) -> httpx.Response:
        """Make the request with httpx (to a live server: Django's `live_server`, or any)."""
        return httpx.request(self.method, self.url, content=self.body or None,
                             headers=self.headers, timeout=timeout)
