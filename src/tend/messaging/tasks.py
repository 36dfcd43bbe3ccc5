"""Background tasks of the messaging module (thin: ids in, a service call)."""

from __future__ import annotations

from typing import Any

from tend.core.background import tenant_task
from tend.core.models import Tenant


@tenant_task
def drain_inbound(tenant: Tenant, account_id: str) -> dict[str, Any]:
    """Process every pending inbound event of one channel account, in order; idempotent
    (enqueued once per burst by `inbound_drain_request`)."""
    from tend.messaging.services.inbound_drain import inbound_drain

    return inbound_drain(tenant=tenant, account_id=account_id).as_dict()


@tenant_task
def process_inbound_event(tenant: Tenant, event_id: str) -> dict[str, Any] | None:
    """Earlier releases enqueued one task per event: such a task still in the queue drains the
    event's account instead."""
    from tend.messaging.models import InboundEvent
    from tend.messaging.services.inbound_drain import inbound_drain

    account_id = (InboundEvent.objects.filter(tenant=tenant, pk=event_id)
                  .values_list("account_id", flat=True).first())
    if account_id is None:
        return None
    return inbound_drain(tenant=tenant, account_id=account_id).as_dict()
