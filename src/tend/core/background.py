"""Background tasks the Tend way: tenant tasks and enqueueing after commit.

Tasks use Django's tasks API (`django_tasks`); the production backend is the database queue of
`django_tasks_db`, worked by `tend worker` (or the worker threads of `tend serve`).

Rules every task follows:

- Arguments are ids and plain JSON values, never model instances: the row may have changed by
  the time the task runs, so the task reads it afresh.
- A tenant task takes the organization's id first. `tenant_task` turns
  `def f(tenant, ...)` into a task called as `f.enqueue(str(tenant.pk), ...)`; it looks the
  organization up, enters `tenant_scope`, and calls `f` with the `Tenant`.
- Tasks are idempotent: running one twice (a retry, a duplicate enqueue) must not do the work
  twice. Check the state before acting (e.g. "is the job still queued?").
- Enqueue with `enqueue_on_commit` from services, so a task never runs before the rows it
  needs are committed, and never runs at all when the transaction rolls back.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import transaction
from django_tasks import DEFAULT_TASK_QUEUE_NAME, task
from django_tasks.base import DEFAULT_TASK_PRIORITY, Task

from tend.core.models import Tenant
from tend.core.tenancy import tenant_scope

logger = logging.getLogger(__name__)

T = TypeVar("T")


def tenant_task(
    func: Callable[..., T] | None = None,
    *,
    priority: int = DEFAULT_TASK_PRIORITY,
    queue_name: str = DEFAULT_TASK_QUEUE_NAME,
) -> Any:
    """Make a module-level function `func(tenant, *args, **kwargs)` a tenant task.

    The task is enqueued as `task.enqueue(tenant_id, *args, **kwargs)` (or through
    `enqueue_on_commit`). When it runs, the organization is loaded; if it no longer exists or
    is inactive the task does nothing and returns None (there is nobody left to do the work
    for). Otherwise `func` runs inside `tenant_scope(tenant)`.
    """

    def decorate(f: Callable[..., T]) -> Task:
        # `functools.wraps` keeps the module and qualified name, so the worker imports the
        # task by the same dotted path as the decorated function.
        @functools.wraps(f)
        def run(tenant_id: str, *args: Any, **kwargs: Any) -> T | None:
            tenant = Tenant.objects.filter(pk=tenant_id, is_active=True).first()
            if tenant is None:
                logger.warning("task %s skipped: organization %s is gone or inactive",
                               f.__qualname__, tenant_id)
                return None
            with tenant_scope(tenant):
                return f(tenant, *args, **kwargs)

        return task(priority=priority, queue_name=queue_name)(run)

    if func is not None:
        return decorate(func)
    return decorate


def _jsonable(value: Any) -> Any:
    """Ids may be passed as UUIDs or tenants; the queue stores JSON."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Tenant):
        return str(value.pk)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def enqueue_on_commit(task_obj: Task, *args: Any, using: str | None = None,
                      on_enqueued: Callable[[Any], None] | None = None, **kwargs: Any) -> None:
    """Enqueue `task_obj(*args, **kwargs)` once the current transaction commits.

    Outside a transaction it is enqueued at once. UUIDs and `Tenant` instances among the
    arguments are turned into id strings. `on_enqueued`, if given, receives the `TaskResult`
    (e.g. to remember its id).
    """
    args = tuple(_jsonable(a) for a in args)
    kwargs = {k: _jsonable(v) for k, v in kwargs.items()}

    def _enqueue() -> None:
        result = task_obj.enqueue(*args, **kwargs)
        if on_enqueued is not None:
            on_enqueued(result)

    transaction.on_commit(_enqueue, using=using)
