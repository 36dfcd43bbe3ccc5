"""A local HTTP receiver for outbound webhook tests, on the messaging fakes' base server:
every request is recorded (`requests()`), answers are 200 unless scripted (`script()`)."""

from __future__ import annotations

import hashlib
import hmac

from tend.messaging.fakes.base import FakeHTTPServer, Request, Response


class FakeReceiver(FakeHTTPServer):
    def route(self, request: Request) -> None:
        request.op = "hook"
        request.keys = ("hook",)

    def handle(self, request: Request) -> Response:
        return Response.json(200, {"received": True})

    @staticmethod
    def signature_ok(request: Request, secret: str) -> bool:
        """Verify like a subscriber would: HMAC-SHA256 over "<timestamp>.<raw body>"."""
        stamp = request.headers.get("x-tend-timestamp", "")
        expected = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + request.body,
                                        hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, request.headers.get("x-tend-signature", ""))
