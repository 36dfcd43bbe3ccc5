"""Extension points of the messaging module (sent after commit).

message_received(tenant, message, conversation)
    An inbound message was stored and appended to its conversation.
message_status_changed(tenant, message, status, previous)
    An outbound message moved to `status` (SENT, DELIVERED, READ, FAILED, BOUNCED, SKIPPED,
    DEAD) — campaign statistics and journeys listen here.
"""

from django.dispatch import Signal

message_received = Signal()
message_status_changed = Signal()
