"""The channel providers this module ships besides Telegram: WhatsApp, SMS, email, in-app
(called from `registration.register`)."""

from __future__ import annotations


def register() -> None:
    from tend.messaging.providers import register_provider
    from tend.messaging.providers.email import EmailProvider
    from tend.messaging.providers.sms import SmsProvider
    from tend.messaging.providers.web import WebProvider
    from tend.messaging.providers.whatsapp import WhatsAppProvider

    register_provider(WhatsAppProvider())
    register_provider(SmsProvider())
    register_provider(EmailProvider())
    register_provider(WebProvider())
