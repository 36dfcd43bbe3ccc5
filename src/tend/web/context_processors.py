"""Context every page of the shell needs: organizations for the switcher, navigation, direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.functional import Promise, SimpleLazyObject

from tend.core.modules import enabled_modules
from tend.core.selectors.access import memberships_for_user
from tend.core.tenancy import system_scope


@dataclass(frozen=True)
class NavLink:
    label: str | Promise
    url: str
    url_name: str
    icon: str
    active: bool


@dataclass(frozen=True)
class NavGroup:
    key: str
    label: str | Promise
    links: tuple[NavLink, ...]


def _nav(request: HttpRequest, tenant: Any, actor: Any) -> list[NavGroup]:
    """The enabled modules' entries the member may see. Entries whose page is not installed
    (the URL name does not resolve) are left out rather than breaking every page."""
    groups = []
    path = request.path
    dashboard = f"/o/{tenant.slug}/"
    for module in enabled_modules(tenant.enabled_modules):
        links = []
        for entry in module.nav:
            if entry.permission and not (actor and actor.has_perm(entry.permission)):
                continue
            try:
                url = reverse(entry.url_name, kwargs={"org_slug": tenant.slug})
            except NoReverseMatch:
                continue
            active = path == url or (url != dashboard and path.startswith(url))
            links.append(NavLink(entry.label, url, entry.url_name, entry.icon, active))
        if links:
            groups.append(NavGroup(module.key, module.label, tuple(links)))
    return groups


def shell(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {
        "text_direction": "rtl" if translation.get_language_bidi() else "ltr",
        "shell_languages": [(code, translation.get_language_info(code)["name_local"])
                            for code, _label in settings.LANGUAGES],
    }
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    tenant = getattr(request, "tenant", None)
    actor = getattr(request, "actor", None)

    def _memberships() -> list[Any]:
        with system_scope():
            return memberships_for_user(user=user)

    # Queried at most once per page, and only if the template shows the switcher.
    context["my_memberships"] = SimpleLazyObject(_memberships)
    if tenant is not None:
        context.update(tenant=tenant, nav_modules=_nav(request, tenant, actor), actor=actor)
    return context
