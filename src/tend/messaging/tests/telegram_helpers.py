"""Shared set-up of the Telegram tests: a bot account connected to the fake Bot API, and
posting the fake's updates to our webhook through Django's test client."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.test import Client

from tend.core.actors import Actor
from tend.messaging.fakes import FakeTelegram
from tend.messaging.models import ChannelAccount
from tend.messaging.services.accounts import account_create

BASE_URL = "http://testserver"
SECRET_HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"
RECORDED = object()


def connect_bot(tenant: Any, fake: FakeTelegram, *, name: str = "Club bot",
                token: str | None = None) -> ChannelAccount:
    return account_create(tenant=tenant, actor=Actor.system(), kind="TELEGRAM", name=name,
                          values={"bot_token": token or fake.token, "api_base": fake.url},
                          base_url=BASE_URL)


def post_update(client: Client, fake: FakeTelegram, update: dict[str, Any], *,
                secret: Any = RECORDED, token: str | None = None) -> Any:
    """POST `update` as Telegram would, to the webhook the fake has on record, with the
    recorded secret header (or `secret`; None: no header)."""
    kwargs: dict[str, Any] = {"token": token}
    if secret is not RECORDED:
        kwargs["secret"] = secret
    call = fake.webhook_call(update, **kwargs)
    headers = {}
    if "X-Telegram-Bot-Api-Secret-Token" in call.headers:
        headers[SECRET_HEADER] = call.headers["X-Telegram-Bot-Api-Secret-Token"]
    return client.post(urlsplit(call.url).path, data=call.body,
                       content_type="application/json", **headers)


def deliver(client: Client, fake: FakeTelegram, update: dict[str, Any]) -> Any:
    """Post `update` and run what is queued after commit (processing, replies)."""
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = post_update(client, fake, update)
    return response


def run_on_commit(func: Any) -> Any:
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True), transaction.atomic():
        return func()
