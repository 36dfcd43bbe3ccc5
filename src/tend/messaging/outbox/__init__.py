"""The outbox: every outbound message is a `Message` row; workers here deliver them.

`outbox_wake()` tells the outbox workers of this process that there may be work (called after
a message is queued and committed); they also look for due rows every few seconds, so a
message is never stranded when no worker was awake (another process queued it, or its retry
time came). See `worker` for the cycle and the duplicate bound, `limiter` for rate limits,
`decide` for what is settled at send time and `backoff` for retry timing.
"""

from __future__ import annotations

import threading

wake_event = threading.Event()


def outbox_wake() -> None:
    """Nudge the outbox workers of this process."""
    wake_event.set()
