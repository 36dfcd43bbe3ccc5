from tend.messaging.providers.base import (
    ConnectError,
    CredentialField,
    InboundItem,
    OutgoingMessage,
    ParsedMessage,
    Provider,
    RateLimits,
    Sender,
    SendError,
    SendResult,
    StatusUpdate,
    provider_for,
    providers,
    register_provider,
)

__all__ = ["ConnectError", "CredentialField", "InboundItem", "OutgoingMessage", "ParsedMessage",
           "Provider", "RateLimits", "SendError", "SendResult", "Sender", "StatusUpdate",
           "provider_for", "providers", "register_provider"]
