"""Shared by the provider webhook tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from tend.core.tenancy import tenant_scope


@contextlib.contextmanager
def processed(tenant: Any, capture: Callable[..., Any]) -> Iterator[None]:
    """Answer webhooks, then run their on-commit work (the background processing) as a
    worker would: inside the organization's scope. `capture` is pytest-django's
    `django_capture_on_commit_callbacks`."""
    with tenant_scope(tenant), capture(execute=True):
        yield
