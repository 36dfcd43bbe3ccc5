"""WhatsApp Cloud API (Meta Graph API) over HTTP (`transport`).

An account is one business phone number: `settings["phone_number_id"]` (and optionally the
WhatsApp Business Account id), `credentials` `access_token` (a system user token),
`app_secret` (signs our webhooks) and `verify_token` (Meta's GET verification). The Graph
origin and version are settings too (`api_base`, `api_version`), so tests and benchmarks
point the same client code at a local fake.

Inbound: Meta first verifies the callback URL with a GET (`hub.mode=subscribe`,
`hub.verify_token`, `hub.challenge`) — we echo the challenge only for our verify token.
Every POST carries `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body, keyed with
the app secret>`, checked constant-time before anything is parsed. One body may hold many
entries/changes; each message (event id = its `wamid`) and each status (event id =
`<wamid>:<status>`) becomes one stored event, so a re-delivery is stored once.

Outbound: a text message inside the 24-hour customer-service window; a template message
when the outbox passes `OutgoingMessage.template` (outside the window only templates are
allowed: Meta answers 131047, which we classify as the permanent `outside_window`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tend.core.tenancy import current_tenant, tenant_scope
from tend.messaging.choices import ChannelKind, MessageStatus
from tend.messaging.models import ChannelAccount, Message
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

DEFAULT_API_BASE = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
TIMEOUT = Timeout(read=10.0, connect=5.0)
# Graph gives no retry-after with its throttling codes; Meta advises backing off for a while.
DEFAULT_RETRY_AFTER = 5.0
MAX_CHALLENGE = 200

# Graph error codes (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
OUTSIDE_WINDOW = {131047}
BAD_NUMBER = {131026, 131021, 131030, 133010}
THROTTLED = {130429, 131048, 131056, 80007, 4, 17, 32, 613}
AUTH = {190, 0, 10, 200, 3}
TRANSIENT = {1, 2, 131000, 131016, 133004}

STATUSES = {"sent": MessageStatus.SENT, "delivered": MessageStatus.DELIVERED,
            "read": MessageStatus.READ, "failed": MessageStatus.FAILED}
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")

_pool = ClientPool()


def http_client(base: str) -> ApiClient:
    """The process's keep-alive client for a Graph API origin."""
    return _pool.client(base, TIMEOUT)


def in_account_scope(account: ChannelAccount, fn: Any) -> Any:
    """Run `fn` in the account's tenant scope (reusing the current one when it is)."""
    tenant = current_tenant()
    if tenant is not None and tenant.pk == account.tenant_id:
        return fn()
    with tenant_scope(account.tenant):
        return fn()


def _at(timestamp: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _split_name(name: str) -> tuple[str, str]:
    first, _sep, last = (name or "").strip().partition(" ")
    return first[:100], last.strip()[:100]


def graph_error(response: ApiResponse) -> tuple[int | None, str]:
    """The Graph error code and a readable message of an error response."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    code = error.get("code")
    details = (error.get("error_data") or {}).get("details") if isinstance(
        error.get("error_data"), dict) else ""
    text = " — ".join(str(p) for p in (error.get("message") or error.get("title") or
                                      response.reason_phrase, details) if p)
    try:
        return (int(code) if code is not None else None), text
    except (TypeError, ValueError):
        return None, text


def classify(response: ApiResponse) -> SendError:
    """A `SendError` for a Graph error response (see the module docstring)."""
    code, text = graph_error(response)
    status = response.status_code
    label = f"WhatsApp {code or status}: {text}"
    if code in OUTSIDE_WINDOW:
        return SendError(label, code="outside_window", permanent=True)
    if code in BAD_NUMBER:
        return SendError(label, code="bad_number", permanent=True)
    if code in THROTTLED or status == 429:
        retry = response.headers.get("Retry-After")
        try:
            after = max(float(retry), 0.0) if retry else DEFAULT_RETRY_AFTER
        except ValueError:
            after = DEFAULT_RETRY_AFTER
        return SendError(label, code="rate_limited", retry_after=after)
    if code in AUTH or status in (401, 403):
        return SendError(label, code="auth_failed", permanent=True, account_error=True)
    if status >= 500 or code in TRANSIENT:
        return SendError(label, code="unavailable")
    return SendError(label, code=f"whatsapp_{code}" if code else f"http_{status}",
                     permanent=True)


def template_payload(template: dict[str, Any], default_language: str = "en") -> dict[str, Any]:
    """The Graph `template` object from what the outbox passes.

    `template` holds `name`, `language` (a code or `{"code": …}`) and either ready
    `components` or the values to fill the body's `{{1}}`, `{{2}}`…: `parameters` (a list)
    or `variables` (a dict: keys "1", "2"… in number order, else in the order of the list
    `order` — the template's variables as they appear in its body — else as given).
    """
    name = str(template.get("name") or "").strip()
    if not name:
        raise SendError("A WhatsApp template message needs the template's name.",
                        code="no_template", permanent=True)
    language = template.get("language") or default_language
    if isinstance(language, dict):
        language = language.get("code") or default_language
    out: dict[str, Any] = {"name": name, "language": {"code": str(language)}}
    components = template.get("components")
    if components is None:
        values = template.get("parameters")
        variables = template.get("variables")
        if values is None and isinstance(variables, dict):
            order = template.get("order")
            if variables and all(str(k).isdigit() for k in variables):
                keys = sorted(variables, key=lambda k: int(k))
            elif isinstance(order, list):
                keys = [k for k in order if k in variables]
                keys += [k for k in variables if k not in keys]
            else:
                keys = list(variables)
            values = [variables[k] for k in keys]
        if values:
            components = [{"type": "body", "parameters": [
                {"type": "text", "text": str(v)} for v in values]}]
    if components:
        out["components"] = components
    return out


class WhatsAppProvider(Provider):
    kind = ChannelKind.WHATSAPP
    label = _("WhatsApp Cloud API")
    setting_fields = (
        CredentialField("phone_number_id", _("Phone number ID"),
                        help_text=_("From the WhatsApp Manager: API Setup → Phone number ID.")),
        CredentialField("business_account_id", _("WhatsApp Business Account ID"),
                        required=False,
                        help_text=_("Optional. When given, connecting subscribes this app to "
                                    "the account's webhooks with our callback URL.")),
        CredentialField("api_base", _("Graph API address"), required=False,
                        help_text=_("Leave blank for https://graph.facebook.com.")),
        CredentialField("api_version", _("Graph API version"), required=False,
                        help_text=_("Leave blank for v21.0.")),
    )
    credential_fields = (
        CredentialField("access_token", _("Access token"), secret=True,
                        help_text=_("A permanent system user token with the "
                                    "whatsapp_business_messaging permission.")),
        CredentialField("app_secret", _("App secret"), secret=True,
                        help_text=_("App settings → Basic → App secret; it signs the "
                                    "webhooks Meta sends us.")),
        CredentialField("verify_token", _("Verify token"), secret=True,
                        help_text=_("Any long random text; enter the same in the app's "
                                    "webhook configuration.")),
    )
    rate_limits = RateLimits(per_second=80, per_chat_per_second=None)
    address_types = (AliasType.WHATSAPP, AliasType.PHONE)

    # -- helpers ------------------------------------------------------------------------

    @staticmethod
    def _base(account: ChannelAccount) -> str:
        return str(account.settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")

    @staticmethod
    def _version(account: ChannelAccount) -> str:
        return str(account.settings.get("api_version") or DEFAULT_API_VERSION).strip("/")

    @staticmethod
    def _headers(account: ChannelAccount) -> dict[str, str]:
        return {"Authorization": f"Bearer {account.credentials.get('access_token', '')}"}

    def _url(self, account: ChannelAccount, *parts: str) -> str:
        return "/".join((self._version(account), *parts))

    # -- connect ------------------------------------------------------------------------

    def connect(self, account: ChannelAccount, *, webhook_url: str) -> dict[str, Any]:
        """Read the phone number with the token (a bad token or id is a field error), then,
        when a business account id is set, subscribe the app to it with our callback URL."""
        phone_id = str(account.settings.get("phone_number_id") or "")
        client = http_client(self._base(account))
        try:
            response = client.get(self._url(account, phone_id), headers=self._headers(account),
                                  params={"fields": "display_phone_number,verified_name,"
                                                    "quality_rating"})
        except TransportError as exc:
            raise ConnectError({"api_base": [
                gettext("Could not reach the WhatsApp Cloud API: %(error)s")
                % {"error": exc}]}) from exc
        if response.status_code != 200:
            code, text = graph_error(response)
            if code in AUTH or response.status_code in (401, 403):
                field = "access_token"
                message = gettext("WhatsApp refused the access token: %(error)s")
            else:
                field = "phone_number_id"
                message = gettext("WhatsApp does not know this phone number ID: %(error)s")
            raise ConnectError({field: [message % {"error": text}]})
        number = response.json()
        extra: dict[str, Any] = {
            "display_phone_number": str(number.get("display_phone_number") or ""),
            "verified_name": str(number.get("verified_name") or ""),
        }
        waba = str(account.settings.get("business_account_id") or "")
        if waba:
            try:
                answer = client.post(self._url(account, waba, "subscribed_apps"),
                                     headers=self._headers(account),
                                     data={"override_callback_uri": webhook_url,
                                           "verify_token": account.credentials.get(
                                               "verify_token", "")})
            except TransportError as exc:
                raise ConnectError({"business_account_id": [
                    gettext("Could not subscribe to the business account: %(error)s")
                    % {"error": exc}]}) from exc
            if answer.status_code != 200:
                raise ConnectError({"business_account_id": [
                    gettext("Could not subscribe to the business account: %(error)s")
                    % {"error": graph_error(answer)[1]}]})
            extra["webhook_subscribed"] = True
        return extra

    # -- send ---------------------------------------------------------------------------

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        """The Graph body of `message` (template, media with caption, or text)."""
        to = message.to.strip().lstrip("+")
        if not to:
            raise SendError("No WhatsApp number to send to.", code="no_address", permanent=True)
        body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                                "to": to}
        if message.template:
            body["type"] = "template"
            body["template"] = template_payload(message.template)
        elif message.media:
            item = message.media[0]
            kind = str(item.get("type") or "")
            kind = kind if kind in MEDIA_TYPES else "document"
            media: dict[str, Any] = {k: item[k] for k in ("id", "link", "filename")
                                     if item.get(k)}
            if message.body and kind in ("image", "document", "video"):
                media["caption"] = message.body
            body["type"] = kind
            body[kind] = media
        else:
            body["type"] = "text"
            body["text"] = {"body": message.body, "preview_url": False}
        return body

    @staticmethod
    def _with_order(account: ChannelAccount, message: OutgoingMessage) -> OutgoingMessage:
        """Add the template's variable order when the outbox passed named variables without
        it (a JSON column may not keep key order, and WhatsApp's {{1}}, {{2}} are positional)."""
        template = message.template
        variables = template.get("variables") if template else None
        if (not template or not isinstance(variables, dict) or len(variables) < 2
                or any(k in template for k in ("order", "parameters", "components"))
                or all(str(k).isdigit() for k in variables)):
            return message
        order = in_account_scope(account, lambda: Message.objects.filter(
            tenant_id=account.tenant_id, pk=message.message_id).values_list(
                "template__variables", flat=True).first())
        if not isinstance(order, list):
            return message
        return replace(message, template={**template, "order": order})

    def send(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        message = self._with_order(account, message)
        phone_id = str(account.settings.get("phone_number_id") or "")
        content = json.dumps(self.payload(message), ensure_ascii=False).encode()
        try:
            response = http_client(self._base(account)).post(
                self._url(account, phone_id, "messages"), content=content,
                headers={**self._headers(account), "Content-Type": "application/json"})
        except TransportTimeout as exc:
            raise SendError(f"WhatsApp did not answer in time: {exc}", code="timeout") from exc
        except TransportError as exc:
            raise SendError(f"WhatsApp is unreachable: {exc}", code="network") from exc
        if response.status_code != 200:
            raise classify(response)
        try:
            wamid = response.json()["messages"][0]["id"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise SendError("WhatsApp accepted the message without an id.",
                            code="bad_answer") from exc
        return SendResult(provider_message_id=str(wamid))

    # -- inbound ------------------------------------------------------------------------

    def handshake(self, account: ChannelAccount, request: HttpRequest) -> HttpResponse | None:
        """Meta's callback verification: echo `hub.challenge` for our verify token; None
        (→ 403) otherwise."""
        expected = str(account.credentials.get("verify_token") or "")
        given = request.GET.get("hub.verify_token", "")
        challenge = request.GET.get("hub.challenge", "")
        if (request.GET.get("hub.mode") != "subscribe" or not expected or not challenge
                or len(challenge) > MAX_CHALLENGE
                or not constant_time_compare(given, expected)):
            return None
        return HttpResponse(challenge, content_type="text/plain; charset=utf-8")

    def verify(self, account: ChannelAccount, request: HttpRequest, raw: bytes) -> bool:
        secret = str(account.credentials.get("app_secret") or "")
        header = request.headers.get("X-Hub-Signature-256", "")
        if not secret or not header.startswith("sha256="):
            return False
        expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(header[len("sha256="):].strip().lower(), expected)

    def split(self, account: ChannelAccount, raw: bytes) -> list[InboundItem]:
        """One item per message and per status of every entry/change. Changes about another
        phone number (one app may serve several) are left to that number's account."""
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(body, dict) or not isinstance(body.get("entry", []), list):
            raise ValueError("expected an object with an entry list")
        ours = str(account.settings.get("phone_number_id") or "")
        items: list[InboundItem] = []
        for entry in body.get("entry") or []:
            changes = entry.get("changes") if isinstance(entry, dict) else None
            for change in changes if isinstance(changes, list) else []:
                value = change.get("value") if isinstance(change, dict) else None
                if not isinstance(value, dict):
                    continue
                metadata = value.get("metadata") or {}
                number = str(metadata.get("phone_number_id") or "")
                if ours and number and number != ours:
                    continue
                contacts = value.get("contacts") or []
                for message in value.get("messages") or []:
                    if not isinstance(message, dict) or not message.get("id"):
                        continue
                    sender = str(message.get("from") or "")
                    profile = [c for c in contacts
                               if isinstance(c, dict) and str(c.get("wa_id")) == sender]
                    items.append(InboundItem(
                        event_id=str(message["id"]), kind="message",
                        payload={"message": message, "contacts": profile[:1],
                                 "metadata": metadata}))
                for status in value.get("statuses") or []:
                    if not isinstance(status, dict) or not status.get("id"):
                        continue
                    items.append(InboundItem(
                        event_id=f"{status['id']}:{status.get('status', '')}", kind="status",
                        payload={"status": status}))
        return items

    def parse(self, account: ChannelAccount,
              item: InboundItem) -> list[ParsedMessage | StatusUpdate]:
        if item.kind == "status":
            return self._parse_status(item.payload.get("status") or {})
        if item.kind == "message":
            parsed = self._parse_message(item.payload)
            return [parsed] if parsed is not None else []
        return []

    @staticmethod
    def _parse_status(status: dict[str, Any]) -> list[ParsedMessage | StatusUpdate]:
        mapped = STATUSES.get(str(status.get("status") or ""))
        if mapped is None:
            return []
        code, error = "", ""
        errors = status.get("errors") or []
        if errors and isinstance(errors[0], dict):
            first = errors[0]
            code = str(first.get("code") or "")
            details = (first.get("error_data") or {}).get("details", "") if isinstance(
                first.get("error_data"), dict) else ""
            error = " — ".join(str(p) for p in (first.get("title") or first.get("message"),
                                               details) if p)
        return [StatusUpdate(provider_message_id=str(status["id"]), status=mapped,
                             at=_at(status.get("timestamp")), error_code=code, error=error)]

    @staticmethod
    def _parse_message(payload: dict[str, Any]) -> ParsedMessage | None:
        message = payload.get("message") or {}
        kind = str(message.get("type") or "")
        wa_id = str(message.get("from") or "").lstrip("+")
        if not wa_id or kind in ("reaction", "system", "unsupported", "ephemeral"):
            return None
        text, data = "", ""
        media: list[dict[str, Any]] = []
        if kind == "text":
            text = str((message.get("text") or {}).get("body") or "")
        elif kind == "interactive":
            interactive = message.get("interactive") or {}
            reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
            text, data = str(reply.get("title") or ""), str(reply.get("id") or "")
        elif kind == "button":
            button = message.get("button") or {}
            text, data = str(button.get("text") or ""), str(button.get("payload") or "")
        elif kind in MEDIA_TYPES:
            part = message.get(kind) or {}
            media.append({"type": kind, **{k: part[k] for k in (
                "id", "mime_type", "sha256", "filename", "caption") if part.get(k)}})
            text = str(part.get("caption") or "")
        elif kind == "location":
            where = message.get("location") or {}
            media.append({"type": "location", **{k: where[k] for k in (
                "latitude", "longitude", "name", "address") if k in where}})
            text = str(where.get("name") or where.get("address") or "")
        elif kind == "contacts":
            media.append({"type": "contacts", "contacts": message.get("contacts") or []})
        else:
            return None
        contacts = payload.get("contacts") or []
        name = ""
        if contacts and isinstance(contacts[0], dict):
            name = str((contacts[0].get("profile") or {}).get("name") or "")
        first, last = _split_name(name)
        number = f"+{wa_id}"
        return ParsedMessage(
            provider_message_id=str(message.get("id")),
            sender=Sender(identifiers=[{"type": AliasType.WHATSAPP, "value": number},
                                       {"type": AliasType.PHONE, "value": number}],
                          first_name=first, last_name=last),
            chat_id=wa_id, text=text, media=media, sent_at=_at(message.get("timestamp")),
            data=data)
