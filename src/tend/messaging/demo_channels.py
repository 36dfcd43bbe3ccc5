"""Demo channel accounts: an in-app (WEB) account that works without any provider, and a
Telegram bot that is set up but not connected — the demo never reaches the internet. Its token
is a placeholder; "Reconnect" says so at once without calling Telegram. Paste a real token
from @BotFather (and set TEND_PUBLIC_URL) to connect it for real."""

from __future__ import annotations

from tend.core.demo import DemoContext
from tend.messaging.choices import ChannelKind
from tend.messaging.models import ChannelAccount
from tend.messaging.providers import provider_for
from tend.messaging.services.accounts import account_create

DEMO_TOKEN = "demo:paste-your-bot-token-here"  # noqa: S105 - a placeholder, not a secret


def load_channels_demo(ctx: DemoContext) -> None:
    existing = set(ChannelAccount.objects.filter(tenant=ctx.tenant).values_list("kind",
                                                                                flat=True))
    try:
        provider_for(ChannelKind.WEB)
    except KeyError:
        pass  # no in-app provider in this installation
    else:
        if ChannelKind.WEB not in existing:
            # Nothing external to check: connecting only marks it active.
            account_create(tenant=ctx.tenant, actor=ctx.actor, kind=ChannelKind.WEB,
                           name="Website chat", values={})
    if ChannelKind.TELEGRAM not in existing:
        account_create(tenant=ctx.tenant, actor=ctx.actor, kind=ChannelKind.TELEGRAM,
                       name="Club Telegram bot", values={"bot_token": DEMO_TOKEN},
                       connect=False)
    ctx.notes.append("Messaging → Channels: a Telegram bot waiting for a real token.")
