"""The permission registry.

A permission is `"<area>.<action>"`, e.g. `"contacts.view"` or `"apikeys.manage"`. Modules
register their areas with the actions that make sense for them; built-in roles derive their
permissions from the registry, so a new module's areas reach them without a migration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

ACTIONS: tuple[str, ...] = ("view", "add", "change", "delete", "export", "send", "manage")


@dataclass(frozen=True)
class PermissionArea:
    key: str
    label: str | Promise
    module: str
    actions: tuple[str, ...] = ("view", "add", "change", "delete")
    # Areas only owners/admins get by default (settings-like areas).
    admin_only: bool = False
    help: str | Promise = field(default="")


_areas: dict[str, PermissionArea] = {}


def register_area(area: PermissionArea) -> None:
    unknown = set(area.actions) - set(ACTIONS)
    if unknown:
        raise ValueError(f"unknown actions {sorted(unknown)} for area {area.key}")
    _areas[area.key] = area


def areas() -> list[PermissionArea]:
    return sorted(_areas.values(), key=lambda a: (a.module, a.key))


def all_permissions() -> frozenset[str]:
    return frozenset(f"{a.key}.{action}" for a in _areas.values() for action in a.actions)


def is_known(permission: str) -> bool:
    return permission in all_permissions()


def builtin_role_permissions(role_key: str) -> frozenset[str]:
    """What each built-in role may do, computed from the registry."""
    everything = all_permissions()
    if role_key in ("owner",):
        return everything
    if role_key == "admin":
        return everything - {"organization.delete"}
    ordinary = [a for a in _areas.values() if not a.admin_only]
    if role_key == "manager":
        return frozenset(f"{a.key}.{x}" for a in ordinary for x in a.actions) | {
            "members.view",
            "jobs.view",
            "audit.view",
        }
    if role_key == "agent":
        agent_actions = ("view", "add", "change", "send")
        return frozenset(
            f"{a.key}.{x}" for a in ordinary for x in a.actions if x in agent_actions
        ) | {"jobs.view"}
    if role_key == "affiliate":
        return frozenset(
            f"{a.key}.view" for a in ordinary if a.key in ("partners", "sales", "organization")
        )
    if role_key == "viewer":
        return frozenset(f"{a.key}.view" for a in ordinary) | {"organization.view"}
    return frozenset()


def register_core_permissions() -> None:
    core = "core"
    register_area(PermissionArea("organization", _("Organization"), core,
                                 ("view", "change", "delete"), admin_only=True))
    register_area(PermissionArea("members", _("Members and invitations"), core,
                                 ("view", "add", "change", "delete"), admin_only=True))
    register_area(PermissionArea("roles", _("Roles"), core,
                                 ("view", "add", "change", "delete"), admin_only=True))
    register_area(PermissionArea("apikeys", _("API keys"), core,
                                 ("view", "manage"), admin_only=True))
    register_area(PermissionArea("customfields", _("Custom fields"), core,
                                 ("view", "manage"), admin_only=True))
    register_area(PermissionArea("tags", _("Tags"), core, ("view", "add", "change", "delete")))
    register_area(PermissionArea("audit", _("Audit log"), core, ("view", "export"),
                                 admin_only=True))
    register_area(PermissionArea("jobs", _("Background jobs"), core, ("view", "manage"),
                                 admin_only=True))
