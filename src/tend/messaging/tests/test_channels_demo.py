"""The demo's channel accounts: an in-app account and a Telegram bot waiting for a real token
(nothing tries to reach Telegram, even when someone presses Reconnect)."""

import random

from tend.core.actors import Actor
from tend.core.demo import DemoContext, demo_loaders
from tend.messaging.demo_channels import load_channels_demo
from tend.messaging.models import ChannelAccount
from tend.messaging.services.accounts import account_connect


def test_demo_accounts_and_reconnect_stays_offline(scoped, owner, monkeypatch):
    assert load_channels_demo in demo_loaders()
    ctx = DemoContext(tenant=scoped, owner=owner, actor=Actor.system(), password=None,
                      rng=random.Random(1))
    load_channels_demo(ctx)
    load_channels_demo(ctx)  # loading twice adds nothing

    accounts = {a.kind: a for a in ChannelAccount.objects.all()}
    assert sorted(accounts) == ["TELEGRAM", "WEB"]
    assert ChannelAccount.objects.count() == 2
    assert accounts["WEB"].status == "ACTIVE"
    telegram = accounts["TELEGRAM"]
    assert (telegram.name, telegram.status) == ("Club Telegram bot", "PENDING")

    from tend.messaging.providers.transport import ApiClient

    def no_network(*args, **kwargs):
        raise AssertionError("the demo must not reach the internet")

    monkeypatch.setattr(ApiClient, "request", no_network)
    account_connect(tenant=scoped, actor=Actor.system(), account=telegram,
                    base_url="http://127.0.0.1:8000")
    telegram.refresh_from_db()
    assert telegram.status == "ERROR"
    assert "not a bot token" in telegram.last_error
