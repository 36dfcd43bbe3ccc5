"""A small Telegram provider for the outbox tests: real HTTP (httpx, keep-alive) to the fake
Bot API, with a short timeout and the Bot API's error classes, and nothing else.

The outbox tests use it instead of the product's Telegram provider so that they exercise the
worker alone (and so the fault test can time out sends in a fraction of a second).
`OutboxProbeConfig` registers it in the worker processes the fault test starts
(`outbox_probe_settings`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from django.apps import AppConfig

from tend.messaging.providers import (
    OutgoingMessage,
    Provider,
    RateLimits,
    SendError,
    SendResult,
    register_provider,
)

TIMEOUT = 1.0


class ProbeTelegram(Provider):
    kind = "TELEGRAM"
    label = "Telegram (probe)"
    rate_limits = RateLimits(per_second=30, per_chat_per_second=1)
    address_types = ("TELEGRAM",)

    def __init__(self, timeout: float = TIMEOUT) -> None:
        self.timeout = timeout
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()
        # When each send started (the worker calls `send` only once a message's slot came):
        # what the rate limiter promises to pace, before any network jitter.
        self.started: list[tuple[float, str]] = []

    def client(self, base: str) -> httpx.Client:
        client = self._clients.get(base)
        if client is None:
            with self._lock:
                client = self._clients.get(base)
                if client is None:
                    client = self._clients[base] = httpx.Client(
                        base_url=base, timeout=self.timeout,
                        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
        return client

    def warm(self, account: Any) -> None:
        self.client(str(account.settings.get("api_base") or "https://api.telegram.org"))

    def send(self, account: Any, message: OutgoingMessage) -> SendResult:
        self.started.append((time.time(), message.to))
        token = account.credentials.get("token", "")
        base = str(account.settings.get("api_base") or "https://api.telegram.org")
        try:
            response = self.client(base).post(
                f"/bot{token}/sendMessage",
                json={"chat_id": message.to, "text": message.body,
                      "tend_message_id": message.message_id})
        except httpx.TimeoutException as exc:
            raise SendError(f"timeout: {type(exc).__name__}", code="timeout") from exc
        except httpx.HTTPError as exc:
            raise SendError(f"network: {exc}", code="network") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code == 200 and payload.get("ok"):
            return SendResult(str(payload["result"]["message_id"]))
        description = str(payload.get("description") or response.text)[:500]
        if response.status_code == 429:
            retry = float((payload.get("parameters") or {}).get("retry_after") or 1)
            raise SendError(description, code="rate_limited", retry_after=retry)
        if response.status_code == 401:
            raise SendError(description, code="unauthorized", permanent=True,
                            account_error=True)
        if response.status_code in (400, 403):
            raise SendError(description, code=f"http_{response.status_code}", permanent=True)
        raise SendError(description, code=f"http_{response.status_code}")


class OutboxProbeConfig(AppConfig):
    name = "tend.messaging.tests"
    label = "messaging_outbox_probe"

    def ready(self) -> None:
        register_provider(ProbeTelegram())
