"""The core's entries in the module registry: the overview and the settings group.

Settings pages of every core area are listed here; an entry appears once its page exists
(the shell skips URL names that do not resolve) and only to members with its permission.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import Module, NavEntry, register_module


def register_core_modules() -> None:
    register_module(Module(
        key="core",
        label=_("Overview"),
        always_on=True,
        order=0,
        nav=(NavEntry(_("Dashboard"), "core:dashboard", icon="home"),),
    ))
    register_module(Module(
        key="settings",
        label=_("Settings"),
        description=_("Organization, people, access and system tools."),
        always_on=True,
        order=10_000,
        nav=(
            NavEntry(_("Organization"), "core:organization-settings", "organization.view",
                     icon="building"),
            NavEntry(_("Members"), "core:members-list", "members.view", icon="users"),
            NavEntry(_("Roles"), "core:roles-list", "roles.view", icon="shield"),
            NavEntry(_("API keys"), "core:apikeys-list", "apikeys.view", icon="key"),
            NavEntry(_("Custom fields"), "core:customfields-list", "customfields.view",
                     icon="list"),
            NavEntry(_("Tags"), "core:tags-list", "tags.view", icon="tag"),
            NavEntry(_("Audit log"), "core:audit-list", "audit.view", icon="scroll"),
            NavEntry(_("Background jobs"), "core:jobs-list", "jobs.view", icon="activity"),
        ),
    ))
