"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives.

    with FakeSMTP() as smtp:
        # EMAIL_HOST = smtp.host, EMAIL_PORT = smtp.port
        smtp.reject("gone@example.com")                 # 550: a hard bounce
        smtp.reject("busy@example.com", code=451)       # a temporary failure
        smtp.script_data("451 4.3.0 Try again later")   # the next DATA is refused
        smtp.messages[0].message["Subject"]

Rate keys: `smtp` per accepted message and `rcpt:<address>` per accepted recipient.
"""

from __future__ import annotations

import asyncio
import collections
import email
import email.policy
import logging
import time
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from .base import FakeServer, Request

# aiosmtpd logs every command at INFO and warns about AUTH without TLS on each connection.
logging.getLogger("mail.log").setLevel(logging.ERROR)

_REPLIES = {
    550: "550 5.1.1 <{address}>: Recipient address rejected: User unknown",
    551: "551 5.1.6 <{address}>: User has moved",
    552: "552 5.2.2 <{address}>: Mailbox full",
    553: "553 5.1.3 <{address}>: Mailbox name not allowed",
    450: "450 4.2.1 <{address}>: Mailbox busy, try again later",
    451: "451 4.3.0 <{address}>: Temporary local problem, try again later",
    452: "452 4.2.2 <{address}>: Insufficient storage",
}


@dataclass(frozen=True, slots=True)
class ReceivedMail:
    """One message the server accepted: the envelope and the parsed message."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage
    received_at: float

    @property
    def subject(self) -> str:
        return str(self.message["Subject"] or "")

    def text(self) -> str:
        """The plain-text body (the text/plain part of a multipart message)."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""  # type: ignore[attr-defined]

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""  # type: ignore[attr-defined]


class FakeSMTP(FakeServer):
    """An SMTP server recording envelopes and parsed messages. With `auth=(user, password)`
    clients must log in (AUTH PLAIN/LOGIN, allowed without TLS here)."""

    def __init__(self, *, auth: tuple[str, str] | None = None, **kwargs: Any) -> None:
        self.auth = auth
        super().__init__(**kwargs)

    def _reset_state(self) -> None:
        self.messages: list[ReceivedMail] = []
        self.rejections: dict[str, str] = {}
        self.refused: list[tuple[str, str]] = []
        self._data_replies: collections.deque[str] = collections.deque()

    def _init_records(self) -> None:
        super()._init_records()
        if not hasattr(self, "messages"):
            self._reset_state()

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def _protocol(self) -> asyncio.Protocol:
        options: dict[str, Any] = {}
        if self.auth is not None:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=False)
        with warnings.catch_warnings():
            # AUTH without TLS is what a local test server wants.
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(_Handler(self), hostname="fake-smtp.tend.test", enable_SMTPUTF8=True,
                        loop=self._loop, **options)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.auth is not None
              and auth_data.login.decode() == self.auth[0]
              and auth_data.password.decode() == self.auth[1])
        return AuthResult(success=ok, handled=False)

    def reject(self, address: str, *, code: int = 550, reply: str = "") -> None:
        """Refuse `address` at RCPT TO with `code` (5xx: a hard bounce, 4xx: try later)."""
        text = reply or _REPLIES.get(code, f"{code} <{{address}}>: rejected").format(
            address=address)
        with self.lock:
            self.rejections[address.lower()] = text

    def script_data(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies (e.g. "451 4.3.0 Try again
        later", "554 5.7.1 Message rejected as spam") instead of accepting."""
        with self.lock:
            self._data_replies.extend(replies)

    def messages_to(self, address: str) -> list[ReceivedMail]:
        with self.lock:
            return [m for m in self.messages
                    if address.lower() in (r.lower() for r in m.rcpt_tos)]


class _Handler:
    def __init__(self, fake: FakeSMTP) -> None:
        self.fake = fake

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        with self.fake.lock:
            refusal = self.fake.rejections.get(address.lower())
            if refusal is not None:
                self.fake.refused.append((address, refusal))
                return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session,
                          envelope: Envelope) -> str:
        fake = self.fake
        received_at = time.monotonic()
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode()
        with fake.lock:
            request = Request("DATA", "", {}, {}, data, None, received_at, op="DATA",
                              keys=("smtp", *(f"rcpt:{r.lower()}" for r in envelope.rcpt_tos)))
            if fake._data_replies:
                reply = fake._data_replies.popleft()
                request.fault = reply
                request.keys = ()
                fake._record(request)
                return reply
            fake._record(request)
            if not fake.record_requests:
                return "250 Message accepted for delivery"
            message = email.message_from_bytes(data, policy=email.policy.default)
            fake.messages.append(ReceivedMail(
                str(envelope.mail_from), tuple(envelope.rcpt_tos), data,
                message, received_at))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"
