"""Fake provider servers on 127.0.0.1 for tests and benchmarks: the real client code talks
to them over real HTTP (or SMTP). See docs/messaging-testing.md.

`FakeSMTP` needs aiosmtpd (a development dependency) and is imported on first use, so the
HTTP fakes work in an environment without it."""

from typing import TYPE_CHECKING, Any

from .base import Delay, Drop, FakeHTTPServer, FakeServer, FilePart, Request, Response, WebhookCall
from .endless import EndlessAnswer
from .sms import FakeSMS, twilio_signature
from .telegram import FakeTelegram
from .whatsapp import FakeWhatsApp

if TYPE_CHECKING:
    from .smtp import FakeSMTP

__all__ = [
    "Delay",
    "Drop",
    "EndlessAnswer",
    "FakeHTTPServer",
    "FakeSMS",
    "FakeSMTP",
    "FakeServer",
    "FakeTelegram",
    "FakeWhatsApp",
    "FilePart",
    "Request",
    "Response",
    "WebhookCall",
    "twilio_signature",
]


def __getattr__(name: str) -> Any:
    if name == "FakeSMTP":
        from .smtp import FakeSMTP

        return FakeSMTP
    raise AttributeError(name)
