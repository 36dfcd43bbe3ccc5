"""The privacy registries: what each module exports about a person, and how it erases them.

Modules register from their `AppConfig.ready()`:

    register_privacy_exporter("tickets", export_tickets)
    register_privacy_eraser("tickets", erase_tickets)

An exporter `func(tenant, contact) -> JSON-able value` returns everything its module holds
about the contact; the export zip gets one `<name>.json` file per exporter. An eraser
`func(tenant, contact)` runs inside the erase transaction and must remove or anonymize the
personal data its module holds about the contact while keeping rows that counts depend on.
Both run inside the tenant scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tend.core.models import Tenant
    from tend.people.models import Contact

PrivacyExporter = Callable[["Tenant", "Contact"], Any]
PrivacyEraser = Callable[["Tenant", "Contact"], None]

_exporters: dict[str, PrivacyExporter] = {}
_erasers: dict[str, PrivacyEraser] = {}


def _check_name(name: str) -> None:
    if not name or not all(ch.isalnum() or ch in "._-" for ch in name):
        raise ValueError(f"privacy registry names are letters, digits, '.', '_', '-': {name!r}")


def register_privacy_exporter(name: str, func: PrivacyExporter) -> None:
    """Add an exporter; its data lands in `<name>.json` in the export."""
    _check_name(name)
    _exporters[name] = func


def register_privacy_eraser(name: str, func: PrivacyEraser) -> None:
    """Add an eraser, run in registration order after the people module's own."""
    _check_name(name)
    _erasers[name] = func


def unregister_privacy_exporter(name: str) -> None:
    _exporters.pop(name, None)


def unregister_privacy_eraser(name: str) -> None:
    _erasers.pop(name, None)


def privacy_exporters() -> list[tuple[str, PrivacyExporter]]:
    return list(_exporters.items())


def privacy_erasers() -> list[tuple[str, PrivacyEraser]]:
    return list(_erasers.items())
