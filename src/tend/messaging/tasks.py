"""Background tasks of the messaging module (thin: ids in, a service call)."""

from __future__ import annotations

from tend.core.background import tenant_task
from tend.core.models import Tenant


@tenant_task
def process_inbound_event(tenant: Tenant, event_id: str) -> str | None:
    """Process one stored inbound event; idempotent."""
    from tend.messaging.services.inbound import inbound_process

    event = inbound_process(tenant=tenant, event_id=event_id)
    return event.status if event is not None else None
