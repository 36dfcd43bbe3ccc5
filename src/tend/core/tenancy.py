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
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django_scopes import scope, scopes_disabled

if TYPE_CHECKING:
    from tend.core.models import Tenant

_current_tenant: contextvars.ContextVar[Tenant | None] = contextvars.ContextVar(
    "tend_current_tenant", default=None
)
_system: contextvars.ContextVar[bool] = contextvars.ContextVar("tend_system_scope", default=False)


def _rls_enabled() -> bool:
    return bool(getattr(settings, "TEND_DB_RLS", False))


def _in_failed_transaction(conn: BaseDatabaseWrapper) -> bool:
    """True when the connection cannot run a statement until its transaction rolls back."""
    if conn.needs_rollback:
        return True
    info = getattr(conn.connection, "info", None)  # psycopg 3
    status = getattr(info, "transaction_status", None)
    return status is not None and getattr(status, "name", "") == "INERROR"


def _apply_to_connection(conn: BaseDatabaseWrapper, tenant_id: str, bypass: bool) -> None:
    """Set the RLS context on one open PostgreSQL connection.

    Connections not open yet are left alone: `connection_created` applies the context when
    they open. Inside a failed transaction nothing can run; the rollback that must follow
    puts back the value the setting had when the (sub)transaction began, which, because scopes
    and atomic blocks nest, is the right one. If the statement itself fails the connection is
    closed, so it can never be reused carrying a stale tenant.
    """
    if conn.vendor != "postgresql" or conn.connection is None:
        return
    if _in_failed_transaction(conn):
        return
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('app.tenant_id', %s, false), "
                "set_config('app.rls_bypass', %s, false)",
                [tenant_id, "on" if bypass else "off"],
            )
    except DatabaseError:
        conn.close()
        raise


def _set_db_context(tenant_id: str, bypass: bool) -> None:
    for conn in connections.all(initialized_only=True):
        _apply_to_connection(conn, tenant_id, bypass)


def apply_db_context(connection: BaseDatabaseWrapper | None = None) -> None:
    """Push the current scope into `connection` (a newly opened one), or into every open one."""
    if not _rls_enabled():
        return
    tenant = _current_tenant.get()
    tenant_id = str(tenant.pk) if tenant else ""
    if connection is not None:
        _apply_to_connection(connection, tenant_id, _system.get())
    else:
        _set_db_context(tenant_id, _system.get())


def _restore_db_context(*, unwinding: bool) -> None:
    """Leaving a scope: put back the enclosing scope's context. While an exception unwinds the
    block, a failing restore must not mask it (the failing connection was closed already)."""
    if not _rls_enabled():
        return
    try:
        apply_db_context()
    except DatabaseError:
        if not unwinding:
            raise


@contextlib.contextmanager
def _scoped(tenant: Tenant | None, system: bool) -> Iterator[None]:
    token_t = _current_tenant.set(tenant)
    token_s = _system.set(system)
    try:
        if _rls_enabled():
            _set_db_context(str(tenant.pk) if tenant else "", system)
        yield
    except BaseException:
        _current_tenant.reset(token_t)
        _system.reset(token_s)
        _restore_db_context(unwinding=True)
        raise
    else:
        _current_tenant.reset(token_t)
        _system.reset(token_s)
        _restore_db_context(unwinding=False)


@contextlib.contextmanager
def tenant_scope(tenant: Tenant) -> Iterator[Tenant]:
    """Run the block as `tenant`: scoped managers filter by it, RLS shows only its rows."""
    with scope(tenant=tenant), _scoped(tenant, False):
        yield tenant


@contextlib.contextmanager
def system_scope() -> Iterator[None]:
    """Run the block across all tenants. Only for system code; never around request handling."""
    with scopes_disabled(), _scoped(None, True):
        yield


def current_tenant() -> Tenant | None:
    """The tenant of the enclosing `tenant_scope`, if any."""
    return _current_tenant.get()
