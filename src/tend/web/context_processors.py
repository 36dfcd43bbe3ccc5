"""Context every page of the shell needs: organizations for the switcher, navigation, direction."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import translation

from tend.core.modules import enabled_modules
from tend.core.selectors.access import memberships_for_user
from tend.core.tenancy import system_scope


def shell(request: HttpRequest) -> dict[str, Any]:
    context: dict[str, Any] = {"text_direction": "rtl" if translation.get_language_bidi() else "ltr"}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    tenant = getattr(request, "tenant", None)
    actor = getattr(request, "actor", None)

    def _memberships() -> list[Any]:
        with system_scope():
            return memberships_for_user(user=user)

    context["my_memberships"] = _memberships  # evaluated lazily by the template
    if tenant is not None:
        nav = []
        for module in enabled_modules(tenant.enabled_modules):
            entries = [
                e for e in module.nav if not e.permission or (actor and actor.has_perm(e.permission))
            ]
            if entries:
                nav.append({"module": module, "entries": entries})
        context.update(tenant=tenant, nav_modules=nav, actor=actor)
    return context
