"""SMS through a Twilio-compatible HTTP API (Twilio itself, or any gateway speaking its
request shape).

An account is one sender: `settings` `api_base` (default https://api.twilio.com),
`account_sid`, `from_number`; `credentials` `auth_token`. A send is
`POST /2010-04-01/Accounts/<sid>/Messages.json` with a form body (`To`, `From`, `Body`,
`StatusCallback`, `MediaUrl`) and HTTP basic auth (sid, token); the answer's `sid` is the
provider message id.

Inbound: delivery status callbacks (to the `StatusCallback` URL we pass with each message:
our webhook URL plus `?message=<our id>`) and incoming SMS (the number's messaging webhook,
set to the same webhook URL) both arrive at `/hooks/messaging/<key>/` as form posts signed
with `X-Twilio-Signature`: base64 of HMAC-SHA1, keyed with the auth token, of the full URL
followed by every POST parameter name and value sorted by name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tend.messaging.choices import ChannelKind, MessageStatus
from tend.messaging.models import ChannelAccount
from tend.messaging.providers.base import (
    ConnectError,
    CredentialField,
    InboundItem,
    OutgoingMessage,
    ParsedMessage,
    Provider,
    RateLimits,
    Sender,
    SendError,
    SendResult,
    StatusUpdate,
)
from tend.messaging.providers.transport import (
    ApiClient,
    ApiResponse,
    ClientPool,
    Timeout,
    TransportError,
    TransportTimeout,
)
from tend.people.choices import AliasType

DEFAULT_API_BASE = "https://api.twilio.com"
DEFAULT_RETRY_AFTER = 1.0
TIMEOUT = Timeout(read=10.0, connect=5.0)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
BAD_NUMBER = {21211, 21614, 21612, 21408, 21610, 21606, 21217}
THROTTLED = {20429, 14107}
AUTH = {20003, 20005, 20008}
STATUSES = {"sent": MessageStatus.SENT, "delivered": MessageStatus.DELIVERED,
            "read": MessageStatus.READ, "undelivered": MessageStatus.FAILED,
            "failed": MessageStatus.FAILED}


_pool = ClientPool()


def http_client(base: str) -> ApiClient:
    return _pool.client(base, TIMEOUT)


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's request signature of a POST to `url` with form `params`."""
    data = url + "".join(k + v for k, v in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _form(raw: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise ValueError(f"not a UTF-8 form: {exc}") from exc


def classify(response: ApiResponse) -> SendError:
    """A `SendError` for a Twilio error response (`{"code", "message", "status"}`)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    raw_code = body.get("code")
    try:
        code: int | None = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    status = response.status_code
    label = f"SMS {code or status}: {body.get('message') or response.reason_phrase}"
    if code in BAD_NUMBER:
        return SendError(label, code="bad_number", permanent=True)
    if code in THROTTLED or status == 429:
        try:
            after = float(response.headers.get("Retry-After") or DEFAULT_RETRY_AFTER)
        except ValueError:
            after = DEFAULT_RETRY_AFTER
        return SendError(label, code="rate_limited", retry_after=max(after, 0.0))
    if code in AUTH or status in (401, 403):
        return SendError(label, code="auth_failed", permanent=True, account_error=True)
    if status >= 500:
        return SendError(label, code="unavailable")
    return SendError(label, code=f"sms_{code}" if code else f"http_{status}", permanent=True)


class SmsProvider(Provider):
    kind = ChannelKind.SMS
    label = _("SMS (Twilio-compatible)")
    setting_fields = (
        CredentialField("account_sid", _("Account SID")),
        CredentialField("from_number", _("Sender number"),
                        help_text=_("The number (E.164, e.g. +15551234567) or alphanumeric "
                                    "sender messages come from.")),
        CredentialField("api_base", _("API address"), required=False,
                        help_text=_("Leave blank for https://api.twilio.com; set it for a "
                                    "Twilio-compatible gateway.")),
    )
    credential_fields = (
        CredentialField("auth_token", _("Auth token"), secret=True,
                        help_text=_("Signs our requests and the callbacks we receive.")),
    )
    # Configurable per account (`rate_per_second`); carriers differ too much for a default.
    rate_limits = RateLimits()
    address_types = (AliasType.PHONE,)

    @staticmethod
    def _base(account: ChannelAccount) -> str:
        return str(account.settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")

    @staticmethod
    def _auth(account: ChannelAccount) -> tuple[str, str]:
        return (str(account.settings.get("account_sid") or ""),
                str(account.credentials.get("auth_token") or ""))

    def connect(self, account: ChannelAccount, *, webhook_url: str) -> dict[str, Any]:
        """Read the account resource with the credentials (`GET Accounts/<sid>.json`)."""
        sid, _token = self._auth(account)
        try:
            response = http_client(self._base(account)).get(
                f"/2010-04-01/Accounts/{sid}.json", auth=self._auth(account))
        except TransportError as exc:
            raise ConnectError({"api_base": [gettext("Could not reach the SMS API: %(error)s")
                                             % {"error": exc}]}) from exc
        if response.status_code in (401, 403):
            raise ConnectError({"auth_token": [gettext(
                "The SMS API refused the account SID and auth token.")]})
        if response.status_code == 404:
            raise ConnectError({"account_sid": [gettext(
                "The SMS API does not know this account SID.")]})
        if response.status_code != 200:
            raise ConnectError({"api_base": [gettext("The SMS API answered %(status)s.")
                                             % {"status": response.status_code}]})
        try:
            name = str(response.json().get("friendly_name") or "")
        except (ValueError, AttributeError):
            name = ""
        return {"friendly_name": name} if name else {}

    def status_callback(self, account: ChannelAccount, message: OutgoingMessage) -> str:
        if message.status_callback_url:
            return message.status_callback_url
        hook = str(account.settings.get("webhook_url") or "")
        if not hook.startswith(("http://", "https://")):
            return ""
        return f"{hook}{'&' if '?' in hook else '?'}message={message.message_id}"

    def send(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        to = message.to.strip()
        if not to:
            raise SendError("No phone number to send to.", code="no_address", permanent=True)
        sid, _token = self._auth(account)
        form: dict[str, Any] = {"To": to, "From": str(account.settings.get("from_number") or ""),
                                "Body": message.body}
        callback = self.status_callback(account, message)
        if callback:
            form["StatusCallback"] = callback
        links = [str(m["link"]) for m in message.media if m.get("link")]
        if links:
            form["MediaUrl"] = links
        try:
            response = http_client(self._base(account)).post(
                f"/2010-04-01/Accounts/{sid}/Messages.json", data=form, auth=self._auth(account))
        except TransportTimeout as exc:
            raise SendError(f"The SMS API did not answer in time: {exc}", code="timeout") from exc
        except TransportError as exc:
            raise SendError(f"The SMS API is unreachable: {exc}", code="network") from exc
        if response.status_code not in (200, 201):
            raise classify(response)
        try:
            body = response.json()
            sms_sid = str(body["sid"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SendError("The SMS API accepted the message without a sid.",
                            code="bad_answer") from exc
        if body.get("status") in ("failed", "undelivered"):
            raise SendError(f"SMS {body.get('error_code')}: {body.get('error_message')}",
                            code="rejected", permanent=True)
        return SendResult(provider_message_id=sms_sid)

    # -- inbound ------------------------------------------------------------------------

    @staticmethod
    def _signed_urls(account: ChannelAccount, request: HttpRequest) -> list[str]:
        """The URLs Twilio may have signed: the public webhook URL we registered (with this
        request's query string) and the URL as this server sees it (no proxy in between)."""
        urls = []
        hook = str(account.settings.get("webhook_url") or "")
        if hook:
            origin = hook.split("?", 1)[0]
            query = request.META.get("QUERY_STRING", "")
            urls.append(f"{origin}?{query}" if query else origin)
        seen = request.build_absolute_uri()
        if seen not in urls:
            urls.append(seen)
        return urls

    def verify(self, account: ChannelAccount, request: HttpRequest, raw: bytes) -> bool:
        token = str(account.credentials.get("auth_token") or "")
        given = request.headers.get("X-Twilio-Signature", "")
        if not token or not given:
            return False
        try:
            params = _form(raw)
        except ValueError:
            return False
        matched = False
        for url in self._signed_urls(account, request):
            # Every candidate is compared (no early exit), each constant-time.
            matched |= hmac.compare_digest(given.encode(),
                                           twilio_signature(token, url, params).encode())
        return matched

    def split(self, account: ChannelAccount, raw: bytes) -> list[InboundItem]:
        """One item per callback: a status (`<MessageSid>:<MessageStatus>`) or an incoming
        SMS (its `MessageSid`)."""
        form = dict(_form(raw))
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid:
            raise ValueError("no MessageSid in the callback")
        status = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if "Body" in form and "From" in form and status in ("", "received", "receiving"):
            return [InboundItem(event_id=sid, kind="message", payload=form)]
        if not status:
            raise ValueError("neither a status callback nor an incoming message")
        return [InboundItem(event_id=f"{sid}:{status}", kind="status", payload=form)]

    def acknowledge(self, account: ChannelAccount, items: list[InboundItem],
                    new: int) -> HttpResponse:
        """Twilio reads the answer to an incoming SMS as TwiML (instructions to reply); an
        empty document says "nothing to do" (replies go out through the outbox)."""
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")

    def parse(self, account: ChannelAccount,
              item: InboundItem) -> list[ParsedMessage | StatusUpdate]:
        form = item.payload
        if item.kind == "status":
            mapped = STATUSES.get(str(form.get("MessageStatus") or form.get("SmsStatus") or ""))
            if mapped is None:
                return []
            return [StatusUpdate(provider_message_id=str(form.get("MessageSid") or
                                                         form.get("SmsSid")),
                                 status=mapped, error_code=str(form.get("ErrorCode") or ""),
                                 error=str(form.get("ErrorMessage") or ""))]
        if item.kind != "message":
            return []
        number = str(form.get("From") or "").strip()
        media = []
        try:
            count = min(int(form.get("NumMedia") or 0), 10)
        except ValueError:
            count = 0
        for i in range(count):
            if form.get(f"MediaUrl{i}"):
                media.append({"type": "link", "link": form[f"MediaUrl{i}"],
                              "mime_type": form.get(f"MediaContentType{i}", "")})
        return [ParsedMessage(
            provider_message_id=str(form.get("MessageSid") or form.get("SmsSid")),
            sender=Sender(identifiers=[{"type": AliasType.PHONE, "value": number}]),
            chat_id=number, text=str(form.get("Body") or ""), media=media)]

