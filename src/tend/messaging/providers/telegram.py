"""Telegram: the Bot API over HTTP (`transport`).

Connecting an account checks the bot token with `getMe` and registers our webhook with
`setWebhook`, passing a random `secret_token` we keep in the account's encrypted credentials;
Telegram echoes it in `X-Telegram-Bot-Api-Secret-Token` on every update, and `verify` compares
it constant-time before anything is stored. Telegram posts one update per request; its
`update_id` is the event id the inbound store de-duplicates on.

The API address is the account setting `api_base` (default https://api.telegram.org), which is
how tests point this very code at the fake Bot API on 127.0.0.1.

Errors of a send are classified as Telegram documents them: 429 carries
`parameters.retry_after`; 5xx and network failures are transient; 403 (blocked by the user,
kicked from the group) and 400 (chat not found, bad request) are permanent for that message;
401 and 404 mean the token is no longer valid — permanent, and the account itself is marked.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tend.messaging.choices import ChannelKind
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
    ClientPool,
    Timeout,
    TransportError,
    TransportTimeout,
)

if TYPE_CHECKING:
    from tend.messaging.models import ChannelAccount

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.telegram.org"
SECRET_HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"  # noqa: S105 - a header name
# The update types we ask Telegram for (it sends nothing else).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
MESSAGE_KINDS = ("message", "edited_message", "callback_query", "my_chat_member")
TIMEOUT = Timeout(read=15.0, connect=5.0)
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")

_pool = ClientPool()


def _client(base: str) -> ApiClient:
    return _pool.client(base, TIMEOUT)


class TelegramApiError(Exception):
    """An answer of the Bot API with `ok: false` (or no answer at all: status 0)."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None
                 ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters or {}


def api_base(account: ChannelAccount) -> str:
    return str(account.settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")


def call(account: ChannelAccount, method: str, payload: dict[str, Any] | None = None, *,
         token: str | None = None) -> Any:
    """Call Bot API `method` with a JSON body and return its `result`.

    Raises `TelegramApiError` for an `ok: false` answer and `TransportError` (timeouts
    included) when there was no answer. The token is part of the URL, so no URL is logged.
    """
    token = token if token is not None else str(account.credentials.get("bot_token") or "")
    response = _client(api_base(account)).post(f"/bot{token}/{method}", json=payload or {})
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise TelegramApiError(response.status_code,
                               f"HTTP {response.status_code} without a Bot API answer")
    if not data.get("ok"):
        raise TelegramApiError(int(data.get("error_code") or response.status_code),
                               str(data.get("description") or "error"),
                               data.get("parameters") if isinstance(data.get("parameters"),
                                                                    dict) else None)
    return data.get("result")


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "<token>") if token else text


def classify(exc: Exception, *, token: str = "") -> SendError:
    """The `SendError` a failed Bot API call means for the outbox."""
    if isinstance(exc, TransportTimeout):
        return SendError(_scrub(f"Telegram did not answer in time ({type(exc).__name__})",
                                token), code="timeout")
    if isinstance(exc, TransportError):
        return SendError(_scrub(f"Telegram could not be reached: {exc}", token), code="network")
    if not isinstance(exc, TelegramApiError):
        return SendError(_scrub(str(exc), token), code="error")
    status, text = exc.status, _scrub(exc.description, token)
    if status == 429:
        retry = exc.parameters.get("retry_after")
        return SendError(text, code="rate_limited",
                         retry_after=float(retry) if isinstance(retry, int | float) else None)
    if status >= 500 or status == 0:
        return SendError(text, code=f"http_{status}")
    if status in (401, 404):
        return SendError(text, code="unauthorized", permanent=True, account_error=True)
    if status == 403:
        code = "blocked" if "blocked" in text.lower() else "forbidden"
        return SendError(text, code=code, permanent=True)
    if status == 400:
        lowered = text.lower()
        code = "chat_not_found" if "chat not found" in lowered else "bad_request"
        if exc.parameters.get("migrate_to_chat_id"):
            code = "chat_migrated"
        return SendError(text, code=code, permanent=True)
    return SendError(text, code=f"http_{status}", permanent=400 <= status < 500)


def _chat_id(value: str) -> int | str:
    text = (value or "").strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _sent_at(payload: dict[str, Any]) -> datetime | None:
    stamp = payload.get("edit_date") or payload.get("date")
    return datetime.fromtimestamp(stamp, tz=UTC) if isinstance(stamp, int) else None


def _media(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """What a message carries besides text, as `{"type", "file_id", ...}` (files stay at
    Telegram; `getFile` fetches them when someone needs the bytes)."""
    media: list[dict[str, Any]] = []
    photos = msg.get("photo")
    if isinstance(photos, list) and photos:
        biggest = photos[-1]
        media.append({"type": "image", "file_id": biggest.get("file_id", ""),
                      "width": biggest.get("width"), "height": biggest.get("height")})
    for kind in ("document", "audio", "voice", "video", "video_note", "sticker", "animation"):
        item = msg.get(kind)
        if isinstance(item, dict):
            entry = {"type": kind, "file_id": item.get("file_id", "")}
            for key in ("file_name", "mime_type", "file_size", "duration"):
                if key in item:
                    entry[key] = item[key]
            media.append(entry)
    location = msg.get("location")
    if isinstance(location, dict):
        media.append({"type": "location", "latitude": location.get("latitude"),
                      "longitude": location.get("longitude")})
    contact = msg.get("contact")
    if isinstance(contact, dict):
        media.append({"type": "contact", "phone_number": contact.get("phone_number", ""),
                      "first_name": contact.get("first_name", "")})
    return media


def sender_of(user: dict[str, Any]) -> Sender:
    """A Telegram `User` object as identities for `contact_resolve`: the numeric id (stable,
    unlike the optional username) is the TELEGRAM identity."""
    return Sender(identifiers=[{"type": "TELEGRAM", "value": str(user["id"])}],
                  first_name=str(user.get("first_name") or "")[:100],
                  last_name=str(user.get("last_name") or "")[:100],
                  language=str(user.get("language_code") or "")[:10])


class TelegramProvider(Provider):
    """Telegram bots (Bot API)."""

    kind = ChannelKind.TELEGRAM
    label = _("Telegram")
    credential_fields = (
        CredentialField("bot_token", _("Bot token"), secret=True,
                        help_text=_("The token @BotFather gave you, like 123456:ABC-DEF…")),
    )
    setting_fields = (
        CredentialField("api_base", _("Bot API address"), required=False,
                        help_text=_("Leave empty for https://api.telegram.org (a local Bot "
                                    "API server or a test server otherwise).")),
    )
    rate_limits = RateLimits(per_second=30, per_chat_per_second=1)
    address_types = ("TELEGRAM",)

    # -- connecting ---------------------------------------------------------------------

    def connect(self, account: ChannelAccount, *, webhook_url: str) -> dict[str, Any]:
        """`getMe` (a bad token is an error on the token field), then `setWebhook` with our
        secret token. The secret is made once and kept, so reconnecting does not break
        updates already on their way."""
        token = str(account.credentials.get("bot_token") or "")
        if not _TOKEN_RE.match(token):
            raise ConnectError({"bot_token": [str(_("This is not a bot token: it looks like "
                                                    "123456:ABC-DEF…"))]})
        try:
            me = call(account, "getMe", token=token)
        except TelegramApiError as exc:
            if exc.status in (401, 404):
                raise ConnectError({"bot_token": [str(_("Telegram does not know this token."))]}
                                   ) from None
            raise ConnectError({"bot_token": [str(_("Telegram refused: %(error)s"))
                                              % {"error": _scrub(exc.description, token)}]}
                               ) from None
        except TransportError as exc:
            raise ConnectError({"api_base": [str(_("Telegram could not be reached: %(error)s"))
                                             % {"error": _scrub(str(exc) or type(exc).__name__,
                                                                token)}]}) from None
        secret = str(account.credentials.get("webhook_secret") or "")
        if not secret:
            secret = secrets.token_urlsafe(32)
            account.set_credentials({**account.credentials, "webhook_secret": secret})
            type(account).objects.filter(pk=account.pk).update(
                credentials_encrypted=account.credentials_encrypted)
        try:
            call(account, "setWebhook", {"url": webhook_url, "secret_token": secret,
                                         "allowed_updates": ALLOWED_UPDATES,
                                         "drop_pending_updates": False}, token=token)
        except TelegramApiError as exc:
            raise ConnectError({"webhook_url": [str(_("Telegram refused our webhook address: "
                                                      "%(error)s"))
                                                % {"error": _scrub(exc.description, token)}]}
                               ) from None
        except TransportError as exc:
            raise ConnectError({"api_base": [str(_("Telegram could not be reached: %(error)s"))
                                             % {"error": _scrub(str(exc) or type(exc).__name__,
                                                                token)}]}) from None
        return {"username": str(me.get("username") or ""), "bot_id": me.get("id"),
                "bot_name": str(me.get("first_name") or "")}

    def disconnect(self, account: ChannelAccount) -> None:
        try:
            call(account, "deleteWebhook", {"drop_pending_updates": False})
        except TelegramApiError as exc:
            raise RuntimeError(_scrub(exc.description,
                                      str(account.credentials.get("bot_token") or ""))) from None

    # -- sending ------------------------------------------------------------------------

    def warm(self, account: ChannelAccount) -> None:
        """Build the account's HTTP client before its first paced send (an SSL context takes
        milliseconds, and every thread waits for the first one). An address that cannot be
        used is left for the send to report."""
        with contextlib.suppress(TransportError):
            _client(api_base(account))

    def send(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        """`sendMessage`, or `sendPhoto` / `sendDocument` (the body as caption) for one
        attachment given by URL (`{"type": "image"|"document", "url": ...}`)."""
        token = str(account.credentials.get("bot_token") or "")
        chat_id = _chat_id(message.to)
        if chat_id == "":
            raise SendError("No Telegram chat to send to", code="no_address", permanent=True)
        if len(message.media) > 1:
            raise SendError("Telegram messages carry one attachment here", code="too_many_media",
                            permanent=True)
        payload: dict[str, Any] = {"chat_id": chat_id}
        if message.media:
            item = message.media[0]
            url = str(item.get("url") or item.get("file_id") or "")
            if not url:
                raise SendError("The attachment has no URL", code="bad_media", permanent=True)
            method = "sendPhoto" if item.get("type") in ("image", "photo") else "sendDocument"
            payload["photo" if method == "sendPhoto" else "document"] = url
            if message.body:
                payload["caption"] = message.body[:1024]
        else:
            method = "sendMessage"
            payload["text"] = message.body
        markup = message.headers.get("reply_markup") if message.headers else None
        if markup:
            try:
                payload["reply_markup"] = json.loads(markup)
            except ValueError:
                raise SendError("The reply keyboard is not JSON", code="bad_markup",
                                permanent=True) from None
        try:
            result = call(account, method, payload, token=token)
        except (TelegramApiError, TransportError) as exc:
            raise classify(exc, token=token) from None
        return SendResult(provider_message_id=f"{chat_id}:{result.get('message_id')}")

    # -- receiving ----------------------------------------------------------------------

    def verify(self, account: ChannelAccount, request: HttpRequest, raw: bytes) -> bool:
        expected = str(account.credentials.get("webhook_secret") or "")
        given = str(request.META.get(SECRET_HEADER) or "")
        if not expected or not given:
            return False
        return hmac.compare_digest(expected.encode(), given.encode())

    def split(self, account: ChannelAccount, raw: bytes) -> list[InboundItem]:
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from None
        updates = body if isinstance(body, list) else [body]
        items = []
        for update in updates:
            if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
                raise ValueError("an update without update_id")
            kind = next((k for k in update if k != "update_id"), "")
            items.append(InboundItem(event_id=str(update["update_id"]), kind=kind[:20],
                                     payload=update))
        return items

    def parse(self, account: ChannelAccount,
              item: InboundItem) -> list[ParsedMessage | StatusUpdate]:
        update = item.payload
        for key in ("message", "edited_message"):
            msg = update.get(key)
            if isinstance(msg, dict) and isinstance(msg.get("from"), dict):
                chat = msg.get("chat") or msg["from"]
                ident = f"{chat.get('id')}:{msg.get('message_id')}"
                if key == "edited_message":
                    ident += f":edit:{msg.get('edit_date') or ''}"
                return [ParsedMessage(
                    provider_message_id=ident, sender=sender_of(msg["from"]),
                    chat_id=str(chat.get("id")),
                    text=str(msg.get("text") or msg.get("caption") or ""),
                    media=_media(msg), sent_at=_sent_at(msg))]
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("from"), dict):
            chat = (query.get("message") or {}).get("chat") or query["from"]
            data = str(query.get("data") or "")
            query_id = str(query.get("id") or "")
            if query_id:
                # Stop the button's spinner once the answer is ours (after commit).
                transaction.on_commit(lambda: self._answer_callback(account, query_id))
            return [ParsedMessage(provider_message_id=f"cb:{query_id or item.event_id}",
                                  sender=sender_of(query["from"]), chat_id=str(chat.get("id")),
                                  text=data, data=data)]
        member = update.get("my_chat_member")
        if isinstance(member, dict):
            from tend.messaging.services.linking import telegram_member_changed

            telegram_member_changed(account=account, update=member)
        return []

    def _answer_callback(self, account: ChannelAccount, query_id: str) -> None:
        try:
            call(account, "answerCallbackQuery", {"callback_query_id": query_id})
        except (TelegramApiError, TransportError) as exc:
            logger.info("answerCallbackQuery failed: %s", type(exc).__name__)
