"""Extension points (signals) the core offers, and its own small receivers.

No business logic lives in receivers; they only keep the database walls and connection
settings in place.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.signals import connection_created
from django.dispatch import Signal, receiver

tenant_created = Signal()
"""Sent after a new organization and its built-in roles exist, inside the creating transaction.

Arguments: `tenant` (Tenant), `actor` (User | None). Modules use it to add their defaults.
"""


@receiver(connection_created)
def _apply_scope_to_new_connection(sender: Any, connection: Any, **kwargs: Any) -> None:
    # A connection opened inside a scope (e.g. after close_old_connections) must carry it.
    # Only the new connection is touched: reaching for the others would open the default
    # connection whenever Django opens a side connection (e.g. to the `postgres` database to
    # drop the test database, which then fails because that database is in use).
    if connection.vendor == "postgresql":
        from tend.core.tenancy import apply_db_context

        apply_db_context(connection)
