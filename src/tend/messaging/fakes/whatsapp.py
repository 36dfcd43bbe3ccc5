"""A fake WhatsApp Cloud API: `POST /v<version>/<phone_number_id>/messages` answering like
graph.facebook.com, and the webhooks Meta sends (signed, plus the GET verification).

    with FakeWhatsApp() as wa:
        httpx.post(f"{wa.url}/v21.0/{wa.phone_number_id}/messages",
                   headers={"Authorization": f"Bearer {wa.access_token}"},
                   json={"messaging_product": "whatsapp", "to": "971501234567",
                         "type": "text", "text": {"body": "hi"}})
        wa.close_window("971501234567")      # free-form text now fails with 131047
        wa.deliver(hook_url, wa.message_event("971501234567", "hello"))  # signed POST

Rate keys: `phone:<phone_number_id>` and `to:<phone_number_id>:<wa_id>` for every send,
counted on arrival whatever the answer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .base import FakeHTTPServer, Response, WebhookCall, reject
from .base import Request as FakeRequest

SIGNATURE_HEADER = "X-Hub-Signature-256"
MESSAGE_TYPES = ("text", "template", "image", "document", "audio", "video", "interactive")
_PATH_RE = re.compile(r"^/v(\d+\.\d+)/([^/]+)/messages$")
# The phone number object (read when an account connects) and a business account's
# webhook subscription (`subscribed_apps`, with an override callback URL).
_NUMBER_RE = re.compile(r"^/v(\d+\.\d+)/([^/]+)$")
_SUBSCRIBE_RE = re.compile(r"^/v(\d+\.\d+)/([^/]+)/subscribed_apps$")
_UNSET: Any = object()

# Graph error codes Tend classifies
OUTSIDE_WINDOW = 131047
UNDELIVERABLE = 131026
RATE_LIMITED = 130429
BAD_TOKEN = 190
INVALID_PARAMETER = 100
TEMPLATE_MISSING = 132001
TEMPLATE_PARAMS = 132000

_TITLES = {
    OUTSIDE_WINDOW: ("Re-engagement message", "Message failed to send because more than 24 "
                     "hours have passed since the customer last replied to this number."),
    UNDELIVERABLE: ("Message Undeliverable", "Message could not be delivered to the recipient."),
    RATE_LIMITED: ("Rate limit hit", "Cloud API message throughput has been reached."),
    TEMPLATE_MISSING: ("Template name does not exist in the translation",
                       "template name is not available in the requested language"),
    TEMPLATE_PARAMS: ("Number of parameters does not match the expected number of params",
                      "body: number of localizable_params does not match the template"),
    131000: ("Something went wrong", "Something went wrong"),
}


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message accepted by the fake Cloud API."""

    id: str
    phone_number_id: str
    to: str
    type: str
    payload: dict[str, Any]
    received_at: float

    @property
    def text(self) -> str:
        """The text body, or the template name for templates."""
        if self.type == "text":
            return str(self.payload.get("text", {}).get("body", ""))
        if self.type == "template":
            return str(self.payload.get("template", {}).get("name", ""))
        return str(self.payload.get(self.type, {}).get("caption", ""))


class FakeWhatsApp(FakeHTTPServer):
    """The Cloud API for one business account; `add_number()` adds phone numbers."""

    def __init__(self, *, access_token: str | None = None, app_secret: str | None = None,
                 verify_token: str | None = None, phone_number_id: str = "106540352242922",
                 display_phone_number: str = "15550783881", **kwargs: Any) -> None:
        self.access_token = access_token or "EAAG" + secrets.token_urlsafe(48)
        self.app_secret = app_secret or secrets.token_hex(16)
        self.verify_token = verify_token or secrets.token_urlsafe(16)
        self.phone_number_id = phone_number_id
        self.waba_id = "102290129340398"
        self.numbers: dict[str, str] = {phone_number_id: display_phone_number}
        super().__init__(**kwargs)

    def _reset_state(self) -> None:
        self.sent: list[SentMessage] = []
        self.closed_windows: set[str] = set()
        self.undeliverable: set[str] = set()
        self.templates: dict[tuple[str, str], int] = {}
        self.subscription: dict[str, str] = {}

    def _init_records(self) -> None:
        super()._init_records()
        if not hasattr(self, "sent"):
            self._reset_state()

    # -- setting the scene ---------------------------------------------------------------

    def add_number(self, phone_number_id: str, display_phone_number: str) -> None:
        with self.lock:
            self.numbers[phone_number_id] = display_phone_number

    def close_window(self, wa_id: str) -> None:
        """The customer has not written for 24 hours: only templates reach `wa_id`."""
        with self.lock:
            self.closed_windows.add(_wa_id(wa_id))

    def open_window(self, wa_id: str) -> None:
        with self.lock:
            self.closed_windows.discard(_wa_id(wa_id))

    def mark_undeliverable(self, wa_id: str) -> None:
        """Sends to `wa_id` fail with 131026 (not on WhatsApp, old app version…)."""
        with self.lock:
            self.undeliverable.add(_wa_id(wa_id))

    def add_template(self, name: str, language: str = "en", *, body_params: int = 0) -> None:
        """Register an approved template. Once any is registered, templates are checked:
        unknown name/language → 132001, wrong body parameter count → 132000."""
        with self.lock:
            self.templates[(name, language)] = body_params

    def messages_to(self, wa_id: str) -> list[SentMessage]:
        with self.lock:
            return [m for m in self.sent if m.to == _wa_id(wa_id)]

    # -- Graph error shapes --------------------------------------------------------------

    @staticmethod
    def error(code: int, message: str = "", *, status: int = 400, details: str = "",
              type: str = "OAuthException", headers: tuple[tuple[str, str], ...] = ()
              ) -> Response:
        title, default_details = _TITLES.get(code, ("", ""))
        error: dict[str, Any] = {"message": message or f"(#{code}) {title}", "type": type,
                                 "code": code}
        if details or default_details:
            error["error_data"] = {"messaging_product": "whatsapp",
                                   "details": details or default_details}
        error["fbtrace_id"] = "A" + secrets.token_urlsafe(16)
        return Response.json(status, {"error": error}, headers)

    @classmethod
    def outside_window(cls) -> Response:
        return cls.error(OUTSIDE_WINDOW)

    @classmethod
    def undeliverable_error(cls) -> Response:
        return cls.error(UNDELIVERABLE)

    @classmethod
    def rate_limited(cls, status: int = 429) -> Response:
        return cls.error(RATE_LIMITED, status=status)

    @classmethod
    def bad_token(cls) -> Response:
        return cls.error(BAD_TOKEN, "Invalid OAuth access token - Cannot parse access token",
                         status=401)

    @classmethod
    def server_error(cls, status: int = 500) -> Response:
        return cls.error(131000, status=status)

    def default_faults(self) -> tuple[Response, ...]:
        return (self.rate_limited(), self.server_error(503))

    def rate_limit_response(self, retry_after: int) -> Response:
        return self.rate_limited()

    # -- the server side -----------------------------------------------------------------

    def _number_or_subscription(self, request: FakeRequest) -> None:
        """GET /v<ver>/<phone_number_id> and POST /v<ver>/<waba_id>/subscribed_apps."""
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else request.query.get("access_token")
        if not token or not hmac.compare_digest(token, self.access_token):
            raise reject(self.bad_token())
        number = _NUMBER_RE.match(request.path)
        if number is not None and request.method == "GET":
            request.op = "number"
            phone_number_id = number.group(2)
            if phone_number_id not in self.numbers:
                raise reject(self.error(INVALID_PARAMETER, f"Unsupported get request. Object "
                                        f"with ID '{phone_number_id}' does not exist.",
                                        type="GraphMethodException"))
            raise reject(Response.json(200, {
                "verified_name": "Tend Test", "display_phone_number": self.numbers[
                    phone_number_id], "quality_rating": "GREEN", "id": phone_number_id}))
        subscribe = _SUBSCRIBE_RE.match(request.path)
        if subscribe is not None and request.method == "POST":
            request.op = "subscribed_apps"
            if subscribe.group(2) != self.waba_id:
                raise reject(self.error(INVALID_PARAMETER, "Unsupported post request.",
                                        type="GraphMethodException"))
            data = request.data if isinstance(request.data, dict) else {}
            with self.lock:
                self.subscription = {k: str(data.get(k, "")) for k in (
                    "override_callback_uri", "verify_token")}
            raise reject(Response.json(200, {"success": True}))

    def route(self, request: FakeRequest) -> None:
        if not _PATH_RE.match(request.path):
            self._number_or_subscription(request)
        match = _PATH_RE.match(request.path)
        if match is None or request.method != "POST":
            raise reject(self.error(
                INVALID_PARAMETER, "Unknown path components: " + request.path,
                status=400))
        phone_number_id = match.group(2)
        request.op = "messages"
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth[:7].lower() == "bearer " else request.query.get("access_token")
        if not token or not hmac.compare_digest(token, self.access_token):
            raise reject(self.bad_token())
        if phone_number_id not in self.numbers:
            raise reject(self.error(
                INVALID_PARAMETER, f"Unsupported post request. Object with ID "
                f"'{phone_number_id}' does not exist, cannot be loaded due to missing "
                "permissions, or does not support this operation.", type="GraphMethodException"))
        data = request.data
        if not isinstance(data, dict):
            raise reject(self.error(INVALID_PARAMETER, "(#100) Invalid parameter"))
        to = _wa_id(str(data.get("to", "")))
        request.keys = (f"phone:{phone_number_id}", f"to:{phone_number_id}:{to}")

    def handle(self, request: FakeRequest) -> Response:
        data: dict[str, Any] = request.data
        phone_number_id = _PATH_RE.match(request.path).group(2)  # type: ignore[union-attr]
        if data.get("messaging_product") != "whatsapp":
            return self.error(INVALID_PARAMETER, "(#100) The parameter messaging_product is "
                                                 "required.")
        raw_to = str(data.get("to") or "")
        to = _wa_id(raw_to)
        if not to or not 7 <= len(to) <= 15:
            return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                              details="Parameter 'to' is invalid.")
        kind = str(data.get("type") or "text")
        if kind not in MESSAGE_TYPES:
            return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                              details=f"Unsupported message type: {kind}")
        problem = self._check_content(kind, data)
        if problem is not None:
            return problem
        if to in self.undeliverable:
            return self.undeliverable_error()
        if kind != "template" and to in self.closed_windows:
            return self.outside_window()
        message_id = _message_id(to)
        if self.record_requests:
            self.sent.append(SentMessage(message_id, phone_number_id, to, kind, dict(data),
                                         request.received_at))
        return Response.json(200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": raw_to, "wa_id": to}],
            "messages": [{"id": message_id, **(
                {"message_status": "accepted"} if kind == "template" else {})}],
        })

    def _check_content(self, kind: str, data: dict[str, Any]) -> Response | None:
        content = data.get(kind)
        if not isinstance(content, dict):
            return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                              details=f"Parameter '{kind}' is required.")
        if kind == "text":
            body = content.get("body")
            if not isinstance(body, str) or not body:
                return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                                  details="Parameter 'text.body' is required.")
            if len(body) > 4096:
                return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                                  details="Parameter 'text.body' is too long.")
        elif kind == "template":
            return self._check_template(content)
        elif kind in ("image", "document", "audio", "video"):
            link = content.get("link") or ""
            if not (content.get("id") or str(link).startswith(("https://", "http://"))):
                return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                                  details=f"Parameter '{kind}.link' or '{kind}.id' is required.")
        return None

    def _check_template(self, template: dict[str, Any]) -> Response | None:
        name = template.get("name")
        language = template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not name or not code:
            return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                              details="Parameters 'template.name' and 'template.language.code' "
                                      "are required.")
        components = template.get("components") or []
        if not isinstance(components, list):
            return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                              details="Parameter 'template.components' must be a list.")
        body_params = 0
        for component in components:
            parameters = component.get("parameters") if isinstance(component, dict) else None
            if not isinstance(parameters, list) or any(
                    not isinstance(p, dict) or "type" not in p for p in parameters):
                return self.error(INVALID_PARAMETER, "(#100) Invalid parameter",
                                  details="Each component needs a list of typed parameters.")
            if component.get("type") == "body":
                body_params += len(parameters)
        if self.templates:
            expected = self.templates.get((str(name), str(code)))
            if expected is None:
                return self.error(TEMPLATE_MISSING)
            if expected != body_params:
                return self.error(TEMPLATE_PARAMS)
        return None

    # -- webhooks to the product ---------------------------------------------------------

    def sign(self, body: bytes, secret: str | None = None) -> str:
        """`X-Hub-Signature-256` for `body`: `sha256=` + HMAC-SHA256 hex with the app secret."""
        key = (secret or self.app_secret).encode()
        return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    def _envelope(self, value: dict[str, Any], phone_number_id: str | None) -> dict[str, Any]:
        number = phone_number_id or self.phone_number_id
        return {"object": "whatsapp_business_account", "entry": [{
            "id": self.waba_id, "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": self.numbers[number],
                             "phone_number_id": number},
                **value}}]}]}

    def message_event(self, wa_id: str, text: str, *, name: str = "Amal Haddad",
                      message_id: str | None = None, timestamp: int | None = None,
                      phone_number_id: str | None = None, reopen_window: bool = True
                      ) -> dict[str, Any]:
        """An inbound text message webhook payload. The customer writing reopens the
        24-hour window unless `reopen_window=False`."""
        wa_id = _wa_id(wa_id)
        if reopen_window:
            self.open_window(wa_id)
        return self._envelope({
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": message_id or _message_id(wa_id),
                          "timestamp": str(timestamp or int(time.time())),
                          "text": {"body": text}, "type": "text"}],
        }, phone_number_id)

    def status_event(self, message_id: str, status: str, *, recipient: str | None = None,
                     error_code: int | None = None, timestamp: int | None = None,
                     phone_number_id: str | None = None) -> dict[str, Any]:
        """A status webhook payload (`sent`, `delivered`, `read` or `failed`) for a message
        the fake accepted (its recipient is looked up) or any id with `recipient`."""
        if recipient is None:
            with self.lock:
                found = [m for m in self.sent if m.id == message_id]
            if not found:
                raise ValueError(f"unknown message {message_id}; pass recipient")
            recipient = found[0].to
        entry: dict[str, Any] = {"id": message_id, "status": status,
                                 "timestamp": str(timestamp or int(time.time())),
                                 "recipient_id": _wa_id(recipient)}
        if status in ("sent", "delivered"):
            entry["conversation"] = {"id": secrets.token_hex(16),
                                     "origin": {"type": "service"}}
            entry["pricing"] = {"billable": True, "pricing_model": "CBP",
                                "category": "service"}
        if status == "failed":
            code = error_code or UNDELIVERABLE
            title, details = _TITLES.get(code, ("Failure", "Failure"))
            entry["errors"] = [{"code": code, "title": title, "message": title,
                                "error_data": {"details": details},
                                "href": "https://developers.facebook.com/docs/whatsapp/"
                                        "cloud-api/support/error-codes/"}]
        return self._envelope({"statuses": [entry]}, phone_number_id)

    def webhook_call(self, url: str, payload: dict[str, Any], *,
                     signature: str | None = _UNSET, secret: str | None = None) -> WebhookCall:
        """The POST Meta makes: raw JSON body signed with the app secret (or `secret`), or
        with `signature` as given (None sends no signature header)."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        value = self.sign(body, secret) if signature is _UNSET else signature
        if value is not None:
            headers[SIGNATURE_HEADER] = value
        return WebhookCall(url, body, headers)

    def deliver(self, url: str, payload: dict[str, Any], *, timeout: float = 10.0,
                **kwargs: Any) -> httpx.Response:
        """POST a signed webhook payload to `url` and return the answer."""
        return self.webhook_call(url, payload, **kwargs).send(timeout=timeout)

    def verification_call(self, url: str, *, verify_token: str | None = None,
                          challenge: str = "1158201444", mode: str = "subscribe"
                          ) -> WebhookCall:
        """The GET Meta makes when the webhook is configured; the product must answer 200
        with the bare `challenge` only when the verify token matches."""
        params = httpx.QueryParams({"hub.mode": mode,
                                    "hub.verify_token": verify_token or self.verify_token,
                                    "hub.challenge": challenge})
        separator = "&" if "?" in url else "?"
        return WebhookCall(f"{url}{separator}{params}", b"", {}, method="GET")

    def verify(self, url: str, **kwargs: Any) -> httpx.Response:
        """Make the verification GET (see `verification_call`) and return the answer."""
        return self.verification_call(url, **kwargs).send()


def _wa_id(number: str) -> str:
    """A WhatsApp id is the number's digits without `+`."""
    return re.sub(r"\D", "", number)


def _message_id(wa_id: str) -> str:
    """`wamid.` + base64 of an opaque id, like Meta's."""
    raw = f"\x15\x02\x00\x11\x18\x12{wa_id}{secrets.token_hex(9).upper()}".encode()
    return "wamid." + base64.b64encode(raw).decode().rstrip("=")
