"""The module registry: what each Tend module contributes to the shell.

A module (people, messaging, community…) registers itself with a key, a label and its
navigation entries; an organization switches modules on in `Tenant.enabled_modules`. The core
never imports feature apps: they call `register_module` from their `AppConfig.ready()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from django.utils.functional import Promise


@dataclass(frozen=True)
class NavEntry:
    label: str | Promise
    url_name: str  # a URL name that takes `org_slug`
    permission: str = ""  # shown only to members with this permission
    icon: str = ""


@dataclass(frozen=True)
class Module:
    key: str
    label: str | Promise
    description: str | Promise = ""
    nav: tuple[NavEntry, ...] = field(default_factory=tuple)
    # Core modules are always on and cannot be switched off.
    always_on: bool = False
    order: int = 100


_modules: dict[str, Module] = {}
_extra_nav: dict[str, list[NavEntry]] = {}


def register_module(module: Module) -> None:
    _modules[module.key] = module


def register_nav_entry(module_key: str, entry: NavEntry) -> None:
    """Add `entry` to another module's navigation group — e.g. a feature module's page under
    "Settings". Works whichever of the two registers first; registering the same URL name
    again replaces the entry."""
    entries = [e for e in _extra_nav.get(module_key, []) if e.url_name != entry.url_name]
    _extra_nav[module_key] = [*entries, entry]


def _with_extras(module: Module) -> Module:
    extra = _extra_nav.get(module.key)
    return replace(module, nav=(*module.nav, *extra)) if extra else module


def modules() -> list[Module]:
    return sorted((_with_extras(m) for m in _modules.values()), key=lambda m: (m.order, m.key))


def get_module(key: str) -> Module | None:
    module = _modules.get(key)
    return _with_extras(module) if module is not None else None


def enabled_modules(enabled_keys: list[str]) -> list[Module]:
    wanted = set(enabled_keys or [])
    return [m for m in modules() if m.always_on or m.key in wanted]
