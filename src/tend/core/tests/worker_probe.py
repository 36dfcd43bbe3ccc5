"""Tasks and a periodic job that leave one row per execution, for the worker tests.

Each execution creates a `Tag` whose slug names the execution (`task-<n>`, `tick-<due ms>`);
the unique (tenant, slug) constraint makes a second execution of the same work fail loudly.
`worker_probe_app.WorkerProbeConfig` registers the periodic job in worker processes started by
the tests (see `worker_settings`).
"""

from __future__ import annotations

import time
from datetime import datetime

from tend.core.background import tenant_task

PROBE_SLUG = "probe"


@tenant_task
def probe_task(tenant, n: int, pause_ms: int = 0) -> str:
    from tend.core.models import Tag

    if pause_ms:
        time.sleep(pause_ms / 1000)
    Tag.objects.create(tenant=tenant, name=f"task {n}", slug=f"task-{n}")
    return f"task-{n}"


def probe_tick(due_at: datetime) -> None:
    import os

    from tend.core.models import Tag, Tenant
    from tend.core.tenancy import tenant_scope

    tenant = Tenant.objects.filter(slug=PROBE_SLUG).first()
    if tenant is None:
        return
    millis = int(due_at.timestamp() * 1000)
    with tenant_scope(tenant):
        Tag.objects.create(tenant=tenant, name=f"tick {millis}", slug=f"tick-{millis}",
                           description=str(os.getpid()))
