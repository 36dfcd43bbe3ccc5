"""Entering and leaving a tenant's scope.

The tenant is resolved once at the edge (URL for the UI, credentials for the API, an explicit
argument for tasks and commands) and every query then runs inside `tenant_scope(tenant)`:
django-scopes makes tenant managers raise outside it, and on PostgreSQL with row-level
security on, the connection's `app.tenant_id` setting makes the database itself hide every
other tenant's rows. System code that must cross tenants (the tick, `audit verify`, login
lookups) runs inside `system_scope()`.

The database setting is session-level (`set_config(..., false)`) and restored on exit rather
than `SET LOCAL`: Django runs in autocommit, so a transaction-local setting would vanish after
the first statement.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connections
from django_scopes import scope, scopes_disabled

if TYPE_CHECKING:
    from tend.core.models import Tenant

_current_tenant: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar(
    "tend_current_tenant", default=None
)
_system: contextvars.ContextVar[bool] = contextvars.ContextVar("tend_system_scope", default=False)


def _rls_enabled() -> bool:
    return bool(getattr(settings, "TEND_DB_RLS", False))


def _set_db_context(tenant_id: str, bypass: bool) -> None:
    for alias in connections:
        conn = connections[alias]
        if conn.vendor != "postgresql":
            continue
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('app.tenant_id', %s, false), "
                "set_config('app.rls_bypass', %s, false)",
                [tenant_id, "on" if bypass else "off"],
            )


def apply_db_context() -> None:
    """Push the current scope into a (possibly new) database connection."""
    if not _rls_enabled():
        return
    tenant = _current_tenant.get()
    _set_db_context(str(tenant.pk) if tenant else "", _system.get())


@contextlib.contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block as `tenant`: scoped managers filter by it, RLS shows only its rows."""
    token_t = _current_tenant.set(tenant)
    token_s = _system.set(False)
    try:
        with scope(tenant=tenant):
            if _rls_enabled():
                _set_db_context(str(tenant.pk), False)
            yield tenant
    finally:
        _current_tenant.reset(token_t)
        _system.reset(token_s)
        apply_db_context()


@contextlib.contextmanager
def system_scope() -> Iterator[None]:
    """Run the block across all tenants. Only for system code; never around request handling."""
    token_t = _current_tenant.set(None)
    token_s = _system.set(True)
    try:
        with scopes_disabled():
            if _rls_enabled():
                _set_db_context("", True)
            yield
    finally:
        _current_tenant.reset(token_t)
        _system.reset(token_s)
        apply_db_context()


def current_tenant() -> Tenant | None:
    """The tenant of the enclosing `tenant_scope`, if any."""
    return _current_tenant.get()
