"""A fake Twilio-compatible SMS API: `POST /2010-04-01/Accounts/<sid>/Messages.json` with
basic auth and a form body, and the signed status callbacks Twilio sends.

    with FakeSMS() as sms:
        httpx.post(f"{sms.url}/2010-04-01/Accounts/{sms.account_sid}/Messages.json",
                   auth=(sms.account_sid, sms.auth_token),
                   data={"To": "+971501234567", "From": "+15005550006", "Body": "hi",
                         "StatusCallback": "https://crm.example/hooks/sms"})
        sms.send_status(sms.sent[0].sid, "delivered")   # signed POST to the StatusCallback

Rate keys: `account:<sid>` and `from:<sid>:<From>` for every send, counted on arrival.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import httpx

from .base import FakeHTTPServer, Request, Response, WebhookCall, reject

SIGNATURE_HEADER = "X-Twilio-Signature"
_PATH_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
# The account resource, read when an account connects.
_ACCOUNT_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)\.json$")
_E164_RE = re.compile(r"^\+[1-9]\d{6,14}$")
_UNSET: Any = object()

INVALID_TO = 21211
FROM_REQUIRED = 21603
BODY_REQUIRED = 21602
UNSUBSCRIBED = 21610
AUTHENTICATE = 20003
TOO_MANY_REQUESTS = 20429


def twilio_signature(url: str, params: dict[str, str], auth_token: str) -> str:
    """Twilio's request signature: base64 HMAC-SHA1, keyed with the auth token, of the full
    URL followed by every POST parameter name and value, sorted by name."""
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class SentSMS:
    """A message accepted by the fake."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str
    params: dict[str, Any]
    received_at: float


class FakeSMS(FakeHTTPServer):
    """A Twilio-compatible Messages API for one account."""

    def __init__(self, *, account_sid: str | None = None, auth_token: str | None = None,
                 **kwargs: Any) -> None:
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        super().__init__(**kwargs)

    def _reset_state(self) -> None:
        self.sent: list[SentSMS] = []
        self.invalid_numbers: set[str] = set()
        self.unsubscribed: set[str] = set()

    def _init_records(self) -> None:
        super()._init_records()
        if not hasattr(self, "sent"):
            self._reset_state()

    def mark_invalid(self, number: str) -> None:
        """Sends to `number` fail with 21211 even though it looks like E.164."""
        with self.lock:
            self.invalid_numbers.add(number)

    def mark_unsubscribed(self, number: str) -> None:
        """The recipient replied STOP: sends fail with 21610."""
        with self.lock:
            self.unsubscribed.add(number)

    def messages_to(self, number: str) -> list[SentSMS]:
        with self.lock:
            return [m for m in self.sent if m.to == number]

    # -- Twilio error shapes -------------------------------------------------------------

    @staticmethod
    def error(code: int, message: str, status: int = 400,
              headers: tuple[tuple[str, str], ...] = ()) -> Response:
        return Response.json(status, {
            "code": code, "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
            headers)

    @classmethod
    def invalid_to(cls, number: str = "") -> Response:
        return cls.error(INVALID_TO, f"Invalid 'To' Phone Number: {number}" if number
                         else "Invalid 'To' Phone Number")

    @classmethod
    def rate_limited(cls, retry_after: int = 1) -> Response:
        return cls.error(TOO_MANY_REQUESTS, "Too Many Requests", 429,
                         (("Retry-After", str(retry_after)),))

    @classmethod
    def server_error(cls, status: int = 500) -> Response:
        return cls.error(20500, "Internal Server Error", status)

    @classmethod
    def unauthorized(cls) -> Response:
        return cls.error(AUTHENTICATE, "Authenticate", 401,
                         (("WWW-Authenticate", 'Basic realm="Twilio API"'),))

    def default_faults(self) -> tuple[Response, ...]:
        return (self.rate_limited(), self.server_error(503))

    def rate_limit_response(self, retry_after: int) -> Response:
        return self.rate_limited(retry_after)

    # -- the server side -----------------------------------------------------------------

    def route(self, request: Request) -> None:
        account = _ACCOUNT_RE.match(request.path)
        if account is not None and request.method == "GET":
            request.op = "account"
            if not (self._authorized(request) and account.group(1) == self.account_sid):
                raise reject(self.unauthorized())
            raise reject(Response.json(200, {"sid": self.account_sid, "status": "active",
                                             "friendly_name": "Tend test account",
                                             "type": "Full"}))
        match = _PATH_RE.match(request.path)
        if match is None or request.method != "POST":
            raise reject(self.error(20404, f"The requested resource {request.path} was not "
                                           "found", 404))
        request.op = "messages"
        auth = request.headers.get("authorization", "")
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":") \
                if auth[:6].lower() == "basic " else ("", "", "")
        except ValueError:
            user = password = ""
        if not (hmac.compare_digest(user, self.account_sid)
                and hmac.compare_digest(password, self.auth_token)
                and match.group(1) == self.account_sid):
            raise reject(self.unauthorized())
        if not isinstance(request.data, dict):
            raise reject(self.error(20001, "Unable to parse the request body"))
        sender = str(request.data.get("From") or request.data.get("MessagingServiceSid") or "")
        request.keys = (f"account:{self.account_sid}", f"from:{self.account_sid}:{sender}")

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":") \
                if auth[:6].lower() == "basic " else ("", "", "")
        except ValueError:
            user = password = ""
        return (hmac.compare_digest(user, self.account_sid)
                and hmac.compare_digest(password, self.auth_token))

    def handle(self, request: Request) -> Response:
        data: dict[str, Any] = request.data
        to = str(data.get("To") or "")
        sender = str(data.get("From") or "")
        service = str(data.get("MessagingServiceSid") or "")
        body = str(data.get("Body") or "")
        media = data.get("MediaUrl")
        if not _E164_RE.match(to) or to in self.invalid_numbers:
            return self.invalid_to(to)
        if not sender and not service:
            return self.error(FROM_REQUIRED, "A 'From' phone number is required.")
        if not body and not media:
            return self.error(BODY_REQUIRED, "Message body is required.")
        if to in self.unsubscribed:
            return self.error(UNSUBSCRIBED, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        callback = str(data.get("StatusCallback") or "")
        if self.record_requests:
            self.sent.append(SentSMS(sid, to, sender, body, callback, dict(data),
                                     request.received_at))
        now = formatdate(usegmt=True)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        segments = max(1, -(-len(body) // (153 if len(body) > 160 else 160)))
        return Response.json(201, {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": now, "date_sent": None, "date_updated": now,
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": sender or None, "messaging_service_sid": service or None,
            "num_media": str(len(media) if isinstance(media, list) else int(bool(media))),
            "num_segments": str(segments), "price": None, "price_unit": "USD", "sid": sid,
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": to,
            "uri": f"{uri}.json"})

    # -- status callbacks to the product -------------------------------------------------

    def status_call(self, sid: str, status: str, *, url: str | None = None,
                    error_code: int | None = None, signature: str | None = _UNSET,
                    auth_token: str | None = None) -> WebhookCall:
        """The status callback Twilio POSTs for message `sid` (`queued`, `sent`,
        `delivered`, `undelivered`, `failed`): a form body signed with the auth token (or
        `auth_token`); `signature` replaces the signature (None sends none). `url` defaults
        to the message's StatusCallback."""
        with self.lock:
            found = [m for m in self.sent if m.sid == sid]
        message = found[0] if found else None
        target = url or (message.status_callback if message else "")
        if not target:
            raise ValueError(f"no StatusCallback for {sid}; pass url")
        params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
                  "MessageSid": sid, "MessageStatus": status, "SmsSid": sid,
                  "SmsStatus": status}
        if message is not None:
            params.update(To=message.to, From=message.from_)
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        value = (twilio_signature(target, params, auth_token or self.auth_token)
                 if signature is _UNSET else signature)
        if value is not None:
            headers[SIGNATURE_HEADER] = value
        body = str(httpx.QueryParams(params)).encode()
        return WebhookCall(target, body, headers)

    def send_status(self, sid: str, status: str, *, timeout: float = 10.0,
                    **kwargs: Any) -> httpx.Response:
        """POST a signed status callback (see `status_call`) and return the answer."""
        return self.status_call(sid, status, **kwargs).send(timeout=timeout)
