"""A fake Telegram Bot API: `POST|GET /bot<token>/<method>` answering like api.telegram.org.

    with FakeTelegram() as tg:
        client = httpx.Client(base_url=tg.url)
        client.post(f"/bot{tg.token}/sendMessage", json={"chat_id": 42, "text": "hi"})
        tg.sent[0].text == "hi"
        tg.script(FakeTelegram.rate_limited(3), times=2, op="sendMessage")
        tg.deliver_update(tg.start_update("LINKCODE", chat_id=42))  # to the recorded webhook

Rate keys: `bot:<token>` and `chat:<token>:<chat_id>` for every send (`sendMessage`,
`sendPhoto`, `sendDocument`), counted on arrival whatever the answer.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from .base import FakeHTTPServer, FilePart, Request, Response, WebhookCall, reject

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")
METHODS = {name.lower(): name for name in (
    "getMe", "setWebhook", "deleteWebhook", "getWebhookInfo", "answerCallbackQuery",
    *SEND_METHODS)}
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_PATH_RE = re.compile(r"^/bot([^/]+)/([A-Za-z]+)$")
_UNSET: Any = object()
_HANDLERS = {
    "getMe": "_get_me",
    "setWebhook": "_set_webhook",
    "deleteWebhook": "_delete_webhook",
    "getWebhookInfo": "_get_webhook_info",
    "answerCallbackQuery": "_answer_callback_query",
    "sendMessage": "_send_message",
    "sendPhoto": "_send_photo",
    "sendDocument": "_send_document",
}
Params = dict[str, Any]
Result = tuple[Any, str]


@dataclass(slots=True)
class Bot:
    """A bot the fake knows: its token, identity and webhook settings."""

    token: str
    id: int
    username: str
    first_name: str
    webhook_url: str = ""
    secret_token: str = ""
    allowed_updates: list[str] = field(default_factory=list)

    def user(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": True, "first_name": self.first_name,
                "username": self.username}


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message a bot sent through the fake."""

    token: str
    method: str
    chat_id: int | str
    message_id: int
    text: str
    params: dict[str, Any]
    received_at: float


class FakeTelegram(FakeHTTPServer):
    """The Bot API for one or more bots (`token` is the first; `add_bot()` adds more)."""

    def __init__(self, *, token: str | None = None, username: str = "tend_test_bot",
                 **kwargs: Any) -> None:
        self._first = (token, username)
        super().__init__(**kwargs)

    def _reset_state(self) -> None:
        """Forget sends, chats and webhooks; the bots and their tokens stay."""
        bots: dict[str, Bot] = getattr(self, "bots", {})  # type: ignore[has-type]
        for bot in bots.values():
            bot.webhook_url, bot.secret_token, bot.allowed_updates = "", "", []
        self.sent: list[SentMessage] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.blocked: set[int | str] = set()
        self.missing: set[int | str] = set()
        self.chats: dict[int | str, dict[str, Any]] = {}
        self._message_ids: dict[tuple[int, int | str], int] = {}
        self._update_id = 100_000
        if not bots:
            self.bots: dict[str, Bot] = {}
            token, username = self._first
            self.token = self.add_bot(token=token, username=username)

    def _init_records(self) -> None:
        super()._init_records()
        if not hasattr(self, "bots"):
            self._reset_state()

    # -- setting the scene ---------------------------------------------------------------

    def add_bot(self, *, token: str | None = None, username: str = "tend_test_bot",
                first_name: str = "Tend Test") -> str:
        """Register a bot and return its token (`<bot id>:<secret>`, like BotFather's)."""
        with self.lock:
            if token is None:
                bot_id = 7_000_000_000 + len(self.bots) * 1_111 + secrets.randbelow(1_000)
                token = f"{bot_id}:AA{secrets.token_urlsafe(32)[:33]}"
            prefix = token.partition(":")[0]
            bot_id = int(prefix) if prefix.isdigit() else 7_000_000_000 + len(self.bots)
            self.bots[token] = Bot(token, bot_id, username, first_name)
            return token

    def bot(self, token: str | None = None) -> Bot:
        with self.lock:
            return self.bots[token or self.token]

    def block(self, chat_id: int | str) -> None:
        """The user blocked the bots: sends to `chat_id` answer 403."""
        with self.lock:
            self.blocked.add(chat_id)

    def forget(self, chat_id: int | str) -> None:
        """Sends to `chat_id` answer 400 "chat not found"."""
        with self.lock:
            self.missing.add(chat_id)

    def messages_to(self, chat_id: int | str, token: str | None = None) -> list[SentMessage]:
        with self.lock:
            return [m for m in self.sent if m.chat_id == chat_id
                    and (token is None or m.token == token)]

    # -- Bot API error shapes ------------------------------------------------------------

    @staticmethod
    def error(code: int, description: str, **parameters: Any) -> Response:
        payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return Response.json(code, payload)

    @classmethod
    def rate_limited(cls, retry_after: int = 3) -> Response:
        return cls.error(429, f"Too Many Requests: retry after {retry_after}",
                         retry_after=retry_after)

    @classmethod
    def server_error(cls, status: int = 502, description: str = "Bad Gateway") -> Response:
        return cls.error(status, description)

    @classmethod
    def chat_not_found(cls) -> Response:
        return cls.error(400, "Bad Request: chat not found")

    @classmethod
    def bot_blocked(cls) -> Response:
        return cls.error(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def unauthorized(cls) -> Response:
        return cls.error(401, "Unauthorized")

    def default_faults(self) -> tuple[Response, ...]:
        return (self.rate_limited(1), self.server_error())

    def rate_limit_response(self, retry_after: int) -> Response:
        return self.rate_limited(retry_after)

    # -- the server side -----------------------------------------------------------------

    def route(self, request: Request) -> None:
        match = _PATH_RE.match(request.path)
        if match is None:
            raise reject(self.error(404, "Not Found"))
        token, method = match.groups()
        request.op = METHODS.get(method.lower(), method)
        if token not in self.bots:
            raise reject(self.unauthorized())
        data = request.data
        if data is None or not isinstance(data, dict):
            raise reject(self.error(400, "Bad Request: can't parse JSON"))
        request.data = {**request.query, **data}
        if request.op in SEND_METHODS:
            chat = _chat_id(request.data.get("chat_id"))
            request.keys = (f"bot:{token}", f"chat:{token}:{chat}")

    def handle(self, request: Request) -> Response:
        token = _PATH_RE.match(request.path).group(1)  # type: ignore[union-attr]
        bot = self.bots[token]
        params: dict[str, Any] = request.data
        name = _HANDLERS.get(request.op)
        if name is None:
            return self.error(404, "Not Found")
        result, description = getattr(self, name)(bot, params, request)
        payload: dict[str, Any] = {"ok": True, "result": result}
        if description:
            payload["description"] = description
        return Response.json(200, payload)

    def _get_me(self, bot: Bot, params: Params, request: Request) -> Result:
        return {**bot.user(), "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}, ""

    def _set_webhook(self, bot: Bot, params: Params, request: Request) -> Result:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        if secret and not _SECRET_RE.match(secret):
            raise reject(self.error(400, "Bad Request: secret token contains unallowed characters"))
        if url and not url.startswith(("https://", "http://")):
            raise reject(self.error(400, "Bad Request: bad webhook: Failed to resolve host"))
        allowed = params.get("allowed_updates") or []
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        bot.webhook_url, bot.secret_token, bot.allowed_updates = url, secret, list(allowed)
        return True, "Webhook was set" if url else "Webhook was deleted"

    def _delete_webhook(self, bot: Bot, params: Params, request: Request) -> Result:
        had = bool(bot.webhook_url)
        bot.webhook_url, bot.secret_token = "", ""
        return True, "Webhook was deleted" if had else "Webhook is already deleted"

    def _get_webhook_info(self, bot: Bot, params: Params, request: Request) -> Result:
        info: dict[str, Any] = {"url": bot.webhook_url, "has_custom_certificate": False,
                                "pending_update_count": 0}
        if bot.webhook_url:
            info.update(max_connections=40, ip_address="127.0.0.1")
            if bot.allowed_updates:
                info["allowed_updates"] = bot.allowed_updates
        return info, ""

    def _answer_callback_query(self, bot: Bot, params: Params, request: Request) -> Result:
        if not params.get("callback_query_id"):
            raise reject(self.error(400, "Bad Request: query is too old and response timeout "
                                         "expired or query ID is invalid"))
        self.callback_answers.append({"token": bot.token, **params})
        return True, ""

    def _send_message(self, bot: Bot, params: Params, request: Request) -> Result:
        text = params.get("text")
        if not text:
            raise reject(self.error(400, "Bad Request: message text is empty"))
        if len(str(text)) > 4096:
            raise reject(self.error(400, "Bad Request: message is too long"))
        return self._send(bot, params, request, {"text": str(text)}, str(text)), ""

    def _send_photo(self, bot: Bot, params: Params, request: Request) -> Result:
        photo = params.get("photo")
        if not photo:
            raise reject(self.error(400, "Bad Request: there is no photo in the request"))
        size = len(photo.content) if isinstance(photo, FilePart) else 54_321
        unique = secrets.token_urlsafe(8)
        sizes = [{"file_id": f"AgACAgQAAxkDAAI{unique}{w}", "file_unique_id": f"AQAD{unique}{w}",
                  "file_size": size * w // 1280, "width": w, "height": w * 3 // 4}
                 for w in (90, 320, 800, 1280)]
        extra: dict[str, Any] = {"photo": sizes}
        caption = str(params.get("caption") or "")
        if caption:
            extra["caption"] = caption
        return self._send(bot, params, request, extra, caption), ""

    def _send_document(self, bot: Bot, params: Params, request: Request) -> Result:
        document = params.get("document")
        if not document:
            raise reject(self.error(400, "Bad Request: there is no document in the request"))
        if isinstance(document, FilePart):
            name, mime, size = document.filename, document.content_type, len(document.content)
        else:
            name = str(document).rstrip("/").rpartition("/")[2] or "file"
            mime, size = "application/octet-stream", 12_345
        unique = secrets.token_urlsafe(8)
        extra: dict[str, Any] = {"document": {
            "file_name": name, "mime_type": mime, "file_id": f"BQACAgQAAxkDAAI{unique}",
            "file_unique_id": f"AgAD{unique}", "file_size": size}}
        caption = str(params.get("caption") or "")
        if caption:
            extra["caption"] = caption
        return self._send(bot, params, request, extra, caption), ""

    def _send(self, bot: Bot, params: dict[str, Any], request: Request,
              extra: dict[str, Any], text: str) -> dict[str, Any]:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise reject(self.error(400, "Bad Request: chat_id is empty"))
        chat_id = _chat_id(raw)
        if chat_id is None or chat_id in self.missing:
            raise reject(self.chat_not_found())
        if chat_id in self.blocked:
            raise reject(self.bot_blocked())
        markup = params.get("reply_markup")
        if isinstance(markup, str) and markup:
            try:
                markup = json.loads(markup)
            except ValueError:
                raise reject(self.error(
                    400, "Bad Request: can't parse reply keyboard markup JSON object")) from None
        message_id = self._next_message_id(bot, chat_id)
        message: dict[str, Any] = {"message_id": message_id, "from": bot.user(),
                                   "chat": self._chat(chat_id), "date": int(time.time()),
                                   **extra}
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        if self.record_requests:
            self.sent.append(SentMessage(bot.token, request.op, chat_id, message_id, text,
                                         dict(params), request.received_at))
        return message

    def _next_message_id(self, bot: Bot, chat_id: int | str) -> int:
        key = (bot.id, chat_id)
        self._message_ids[key] = self._message_ids.get(key, 0) + 1
        return self._message_ids[key]

    def _chat(self, chat_id: int | str) -> dict[str, Any]:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if isinstance(chat_id, str):
            return {"id": -1001234567890, "title": chat_id[1:], "username": chat_id[1:],
                    "type": "channel"}
        if chat_id < 0:
            return {"id": chat_id, "title": "Group", "type": "group"}
        return {"id": chat_id, "first_name": "User", "type": "private"}

    # -- updates to the product's webhook ------------------------------------------------

    def make_update(self, text: str, *, chat_id: int = 100_000_001, user_id: int | None = None,
                    first_name: str = "Amal", last_name: str = "", username: str = "",
                    language_code: str = "en", token: str | None = None) -> dict[str, Any]:
        """A realistic `message` update from a private chat (the message id continues the
        chat's sequence, shared with the bot's sends)."""
        with self.lock:
            bot = self.bots[token or self.token]
            user: dict[str, Any] = {"id": user_id or chat_id, "is_bot": False,
                                    "first_name": first_name}
            if last_name:
                user["last_name"] = last_name
            if username:
                user["username"] = username
            user["language_code"] = language_code
            chat = {k: v for k, v in user.items() if k in ("id", "first_name", "last_name",
                                                            "username")}
            chat["id"] = chat_id
            chat["type"] = "private"
            self.chats[chat_id] = chat
            message: dict[str, Any] = {
                "message_id": self._next_message_id(bot, chat_id), "from": user, "chat": chat,
                "date": int(time.time()), "text": text}
            if text.startswith("/"):
                command = text.split(" ", 1)[0]
                message["entities"] = [{"offset": 0, "length": len(command),
                                        "type": "bot_command"}]
            return {"update_id": self._next_update_id(), "message": message}

    def start_update(self, code: str = "", **kwargs: Any) -> dict[str, Any]:
        """The update sent when a user presses Start on `https://t.me/<bot>?start=<code>`."""
        return self.make_update(f"/start {code}" if code else "/start", **kwargs)

    def callback_update(self, data: str, *, chat_id: int = 100_000_001, message_id: int = 1,
                        first_name: str = "Amal", token: str | None = None) -> dict[str, Any]:
        """A `callback_query` update: the user pressed an inline button carrying `data`."""
        with self.lock:
            bot = self.bots[token or self.token]
            user = {"id": chat_id, "is_bot": False, "first_name": first_name,
                    "language_code": "en"}
            return {"update_id": self._next_update_id(), "callback_query": {
                "id": str(secrets.randbelow(10**18)), "from": user,
                "message": {"message_id": message_id, "from": bot.user(),
                            "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
                            "date": int(time.time()), "text": "…"},
                "chat_instance": str(-secrets.randbelow(10**18)), "data": data}}

    def _next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    def webhook_call(self, update: dict[str, Any], *, token: str | None = None,
                     url: str | None = None, secret: str | None = _UNSET) -> WebhookCall:
        """The POST Telegram would make for `update`: to the bot's recorded webhook URL (or
        `url`), with its recorded secret header (or `secret`; None sends no header)."""
        bot = self.bot(token)
        target = url or bot.webhook_url
        if not target:
            raise ValueError("no webhook set for this bot; call setWebhook first or pass url")
        secret = bot.secret_token if secret is _UNSET else secret
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        body = json.dumps(update, ensure_ascii=False).encode()
        return WebhookCall(target, body, headers)

    def deliver_update(self, update: dict[str, Any], *, timeout: float = 10.0,
                       **kwargs: Any) -> httpx.Response:
        """POST `update` to the webhook (see `webhook_call`) and return the answer."""
        return self.webhook_call(update, **kwargs).send(timeout=timeout)


def _chat_id(raw: Any) -> int | str | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith("@") and len(text) > 1:
        return text
    return None
