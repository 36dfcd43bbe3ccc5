"""Outbound webhooks: how fast the worker drains queued deliveries, against a plain httpx
loop posting the same signed bodies to the same local receiver in the same run; and what an
event nobody subscribed to costs the code that emits it.

1. **queue**: `--events` events are emitted for one subscription (`webhook_emit`, one
   delivery row each);
2. **drain**: `webhooks_deliver_due()` claims batches with SKIP LOCKED and a lease, signs,
   POSTs (one keep-alive httpx client) and records each attempt — timed until none is due;
3. **baseline**: one `httpx.Client` POSTs the same number of bodies, signed the same way,
   with nothing recorded;
4. **unheard**: `webhook_emit` of an event no subscription listens to, `--events` times
   (the per-process cache answers after the first lookup).

    uv run python benchmarks/webhooks_out.py --events 2000 [--database-url postgres://…]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import benchdb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        # Deliveries are timed through the worker path; the wake-up task must not run inline.
        benchdb.setup(args.database_url, data_dir,
                      TEND_TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend")
        run(args.events)


def run(events: int) -> None:
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from tend.core.actors import Actor
    from tend.core.services.tenants import tenant_create
    from tend.core.tenancy import system_scope, tenant_scope
    from tend.marketing.models import DeliveryStatus, WebhookDelivery
    from tend.marketing.services import webhooks_out as svc
    from tend.marketing.tests.webhook_receiver import FakeReceiver

    system = Actor.system()
    with system_scope():
        tenant = tenant_create(name=f"Bench {time.time_ns()}", slug=f"bench-{time.time_ns()}",
                               actor=system)
    with FakeReceiver(record_requests=False) as receiver, tenant_scope(tenant):
        _sub, secret = svc.webhook_subscription_create(tenant=tenant, actor=system, data={
            "name": "Bench", "url": receiver.url + "/hook", "event_types": ["*"]})
        started = time.perf_counter()
        for n in range(events):
            svc.webhook_emit(tenant=tenant, key="activity.recorded",
                             payload={"activity": {"n": n, "type": "BENCH"}})
        queue_s = time.perf_counter() - started

        started = time.perf_counter()
        sent = 0
        while True:
            got = svc.webhooks_deliver_due(tenant=tenant, max_batches=1000)
            sent += got
            if not got:
                break
        drain_s = time.perf_counter() - started
        delivered = WebhookDelivery.objects.filter(tenant=tenant,
                                                   status=DeliveryStatus.SUCCEEDED).count()

        bodies = [json.dumps({"id": str(n), "type": "activity.recorded",
                              "data": {"activity": {"n": n}}}).encode() for n in range(events)]
        started = time.perf_counter()
        with httpx.Client(timeout=10) as client:
            for body in bodies:
                headers = {"Content-Type": "application/json",
                           **svc.signed_request(secret, body)}
                client.post(receiver.url + "/hook", content=body, headers=headers)
        base_s = time.perf_counter() - started

        svc.webhook_subscription_update(tenant=tenant, actor=system,
                                        subscription=_sub, data={"event_types": ["*"],
                                                                 "is_active": False})
        started = time.perf_counter()
        for n in range(events):
            svc.webhook_emit(tenant=tenant, key="activity.recorded", payload={"n": n})
        unheard_s = time.perf_counter() - started

    print(f"events: {events}, delivered: {delivered} (attempts {sent}), "
          f"received: {receiver.count()}")
    print(f"queue (webhook_emit, one delivery each): {events / queue_s:,.0f} events/s")
    print(f"drain (worker: claim, sign, POST, record): {events / drain_s:,.0f} deliveries/s")
    print(f"baseline (httpx loop, sign + POST only): {events / base_s:,.0f} posts/s")
    print(f"ratio worker / baseline: {base_s / drain_s:.2f}")
    print(f"unheard event: {unheard_s / events * 1e6:,.1f} µs per webhook_emit")


if __name__ == "__main__":
    main()
