"""The in-app channel: messages shown on the contact-facing conversation page.

Nothing travels anywhere: the message is on the page the moment it is recorded, so a send is
accepted as DELIVERED at once. There are no webhooks (the contact writes back through the
signed page, which stores inbound messages through the messaging services) and no address:
the contact is the address, so `requires_address` is False and `to` may be blank.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from tend.messaging.choices import ChannelKind, MessageStatus
from tend.messaging.models import ChannelAccount
from tend.messaging.providers.base import OutgoingMessage, Provider, SendResult


class WebProvider(Provider):
    kind = ChannelKind.WEB
    label = _("In-app conversation page")
    address_types = ()
    requires_address = False

    def connect(self, account: ChannelAccount, *, webhook_url: str) -> dict[str, Any]:
        return {}

    def send(self, account: ChannelAccount, message: OutgoingMessage) -> SendResult:
        return SendResult(provider_message_id=f"web:{message.message_id}",
                          status=MessageStatus.DELIVERED)

    def verify(self, account: ChannelAccount, request: HttpRequest, raw: bytes) -> bool:
        return False  # nothing posts to an in-app account's webhook URL
