from tend.messaging.models.accounts import ChannelAccount
from tend.messaging.models.conversations import Conversation, Message, TelegramLink
from tend.messaging.models.inbound import InboundDrain, InboundEvent
from tend.messaging.models.outbox import OutboxRateBucket
from tend.messaging.models.templates import Template

__all__ = ["ChannelAccount", "Conversation", "InboundDrain", "InboundEvent", "Message",
           "OutboxRateBucket", "TelegramLink", "Template"]
