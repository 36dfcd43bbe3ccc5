"""The provider interface and registry: one provider per channel kind.

A provider is the only code that knows a channel's protocol. The outbox hands it an
`OutgoingMessage` and gets a `SendResult` or a `SendError`; the webhook view hands it the raw
request and gets `InboundItem`s to store; the background processor hands each stored item back
and gets `ParsedMessage`s and `StatusUpdate`s the messaging services apply. Providers register
from the messaging app's `ready()`:

    register_provider(TelegramProvider())

and are looked up with `provider_for(kind)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from tend.messaging.models import ChannelAccount


@dataclass(frozen=True)
class CredentialField:
    """One input of the connect form (`secret` ones are stored encrypted, never shown)."""

    name: str
    label: Any
    secret: bool = False
    required: bool = True
    help_text: Any = ""


@dataclass(frozen=True)
class RateLimits:
    """Defaults the outbox honors per account (None: unlimited)."""

    per_second: float | None = None
    per_chat_per_second: float | None = None


@dataclass
class OutgoingMessage:
    """What the outbox asks a provider to deliver."""

    message_id: str
    to: str
    body: str = ""
    subject: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)
    # A provider template (WhatsApp: {"name", "language", "components"}), when the channel
    # requires one for this send.
    template: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    purpose: str = ""
    # Where the provider should post delivery statuses, if it takes a per-message URL (SMS).
    status_callback_url: str = ""
    html: str = ""


@dataclass(frozen=True)
class SendResult:
    provider_message_id: str
    # SENT normally; a provider that knows more at once (e.g. SMTP accepted) may say so.
    status: str = "SENT"


class SendError(Exception):
    """A send that did not go through.

    `permanent` errors (bad number, blocked bot, no such chat, bad credentials) are not
    retried; the others are, after `retry_after` seconds when the provider said so, else with
    capped exponential backoff.
    """

    def __init__(self, message: str, *, code: str = "", permanent: bool = False,
                 retry_after: float | None = None, account_error: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after
        # The account itself is broken (revoked token): mark it ERROR, not just the message.
        self.account_error = account_error


class ConnectError(Exception):
    """Connecting an account failed; `fields` maps form fields to messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields)
        self.fields = fields


@dataclass(frozen=True)
class InboundItem:
    """One provider event cut out of a webhook body, before it is understood."""

    event_id: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Sender:
    """Who wrote an inbound message, as identities `contact_resolve` understands."""

    identifiers: list[dict[str, str]]
    first_name: str = ""
    last_name: str = ""
    language: str = ""


@dataclass(frozen=True)
class ParsedMessage:
    """An inbound message understood."""

    provider_message_id: str
    sender: Sender
    chat_id: str
    text: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)
    sent_at: datetime | None = None
    # A button or callback payload (Telegram callback_query data, WhatsApp button reply).
    data: str = ""


@dataclass(frozen=True)
class StatusUpdate:
    """A provider telling us what became of a message we sent."""

    provider_message_id: str
    status: str
    at: datetime | None = None
    error_code: str = ""
    error: str = ""


class Provider:
    """Base class; subclasses set `kind` and implement what their channel needs."""

    kind: str = ""
    label: Any = ""
    credential_fields: tuple[CredentialField, ...] = ()
    setting_fields: tuple[CredentialField, ...] = ()
    rate_limits = RateLimits()
    # The identity types (AliasType) an address for this channel is taken from, in order.
    address_types: tuple[str, ...] = ()

    def connect(self, account: ChannelAccount, *, webhook_url: str) -> dict[str, Any]:
        """Check the credentials with the provider and register `webhook_url`; returns
        settings to store (e.g. the bot's username). Raises `ConnectError`."""
        return {}

    def disconnect(self, account: ChannelAccount) -> None:
        """Undo `connect` at the provider where that means anything (delete the webhook)."""

    def send(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError

    def handshake(self, account: ChannelAccount, request: HttpRequest) -> HttpResponse | None:
        """Answer a provider's GET verification (WhatsApp); None: not supported → 405."""
        return None

    def verify(self, account: ChannelAccount, request: HttpRequest, raw: bytes) -> bool:
        """Whether an inbound request really comes from the provider (constant-time)."""
        return False

    def split(self, account: ChannelAccount, raw: bytes) -> list[InboundItem]:
        """The events in a verified webhook body. Raises ValueError on a body it cannot read."""
        raise NotImplementedError

    def parse(self, account: ChannelAccount,
              item: InboundItem) -> list[ParsedMessage | StatusUpdate]:
        """What a stored event means; [] for events we do not act on."""
        return []

    def acknowledge(self, account: ChannelAccount, items: list[InboundItem],
                    new: int) -> HttpResponse | None:
        """The answer to a verified webhook whose `items` were stored (`new` of them not
        seen before) when the provider expects a particular body; None: a JSON count."""
        return None


_registry: dict[str, Provider] = {}


def register_provider(provider: Provider) -> None:
    _registry[provider.kind] = provider


def provider_for(kind: str) -> Provider:
    """The provider of channel `kind`; KeyError if none is registered."""
    return _registry[kind]


def providers() -> list[Provider]:
    return list(_registry.values())
