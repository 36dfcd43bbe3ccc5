"""Isolation entries for channel accounts and Telegram links. The victim gets two Telegram
accounts (one pointing at a closed local port, so reconnecting never leaves the machine; one
connected, for links), a contact and a link, named with canaries."""

from datetime import timedelta

from django.utils import timezone

from tend.core.tests.isolation import register, victim_builder
from tend.messaging.models import ChannelAccount, TelegramLink
from tend.people.models import Contact

CLOSED = "http://127.0.0.1:9"
TOKEN = "123456:AA" + "x" * 30


@victim_builder
def _channels(v, c):
    v.channel_account = ChannelAccount(
        tenant=v.tenant, kind="TELEGRAM", name=c("channel account"), status="ACTIVE",
        settings={"api_base": CLOSED, "username": "victimbot", "bot_name": c("bot name")})
    v.channel_account.set_credentials({"bot_token": TOKEN, "webhook_secret": c("hook secret")})
    v.channel_account.save()
    link_account = ChannelAccount(tenant=v.tenant, kind="TELEGRAM", name=c("link account"),
                                  status="ACTIVE",
                                  settings={"api_base": CLOSED, "username": "victimlinks"})
    link_account.set_credentials({"bot_token": TOKEN})
    link_account.save()
    v.link_contact = Contact.objects.create(tenant=v.tenant, first_name=c("link contact"),
                                            display_name=c("link contact display"))
    TelegramLink.objects.create(tenant=v.tenant, account=link_account, contact=v.link_contact,
                                code=c("link code").replace(" ", "-")[:60],
                                expires_at=timezone.now() + timedelta(days=7))


register("GET", "/api/v1/channels/providers", targets_victim=False)
register("GET", "/api/v1/channels", targets_victim=False)
# A create names nothing of the victim's; its connection fails fast on a closed local port.
register("POST", "/api/v1/channels", targets_victim=False,
         body=lambda v: {"kind": "TELEGRAM", "name": "Suite bot",
                         "values": {"bot_token": TOKEN, "api_base": CLOSED}})
account = {"path": lambda v: {"account_id": v.channel_account.pk}}
register("GET", "/api/v1/channels/{account_id}", **account)
register("PATCH", "/api/v1/channels/{account_id}", **account,
         body=lambda v: {"name": "Renamed bot"})
register("POST", "/api/v1/channels/{account_id}/reconnect", **account)
register("POST", "/api/v1/channels/{account_id}/disable", **account)
register("POST", "/api/v1/channels/{account_id}/default", **account)
contact = {"path": lambda v: {"contact_id": v.link_contact.pk}}
register("GET", "/api/v1/contacts/{contact_id}/telegram-links", **contact)
register("POST", "/api/v1/contacts/{contact_id}/telegram-links", **contact,
         body=lambda v: {"expires_in_days": 3})
