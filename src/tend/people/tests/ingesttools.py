"""Helpers for ingestion tests: signed webhook deliveries."""

from __future__ import annotations

import json
import time
from typing import Any

from django.test import Client

from tend.people.services.sources import signature_compute


def deliver(client: Client, key: str, secret: str, body: Any, *, timestamp: int | None = None,
            signature: str | None = None, raw: bytes | None = None):
    """POST `body` (JSON) to the webhook of `key`, signed with `secret` unless `signature`
    is given."""
    data = raw if raw is not None else json.dumps(body).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"HTTP_X_TEND_TIMESTAMP": stamp,
               "HTTP_X_TEND_SIGNATURE": signature if signature is not None
               else signature_compute(secret, stamp, data)}
    return client.post(f"/hooks/sources/{key}", data=data, content_type="application/json",
                       **headers)
