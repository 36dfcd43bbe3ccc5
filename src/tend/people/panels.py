"""Panels other modules add to the contact page (units, mentor, pods, deals…).

    register_contact_panel(
        key="community.mentor", title=_("Mentor"),
        template="community/partials/contact_mentor.html",
        context_func=mentor_panel_context, permission="community.view", order=200)

`context_func(*, tenant, actor, contact)` returns the template's context (it also gets
`contact`, `tenant` and `panel`); returning None hides the panel for that contact. It must run
a fixed number of queries whatever the contact holds. Panels show in `order`, then by key,
to actors holding `permission` (None: everyone who can see the contact).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.safestring import SafeString

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.people.models import Contact

PanelContext = Callable[..., dict[str, Any] | None]


@dataclass(frozen=True)
class ContactPanel:
    key: str
    title: str | Promise
    template: str
    context_func: PanelContext | None
    permission: str | None
    order: int


@dataclass(frozen=True)
class RenderedPanel:
    panel: ContactPanel
    html: SafeString


_panels: dict[str, ContactPanel] = {}


def register_contact_panel(key: str, title: str | Promise, template: str,
                           context_func: PanelContext | None = None,
                           permission: str | None = None, order: int = 100) -> ContactPanel:
    """Add (or replace, by `key`) a panel of the contact page."""
    panel = ContactPanel(key=key, title=title, template=template, context_func=context_func,
                         permission=permission, order=order)
    _panels[key] = panel
    return panel


def unregister_contact_panel(key: str) -> None:
    _panels.pop(key, None)


def contact_panels(actor: Actor) -> list[ContactPanel]:
    """The panels `actor` may see, in display order."""
    return sorted(
        (p for p in _panels.values() if p.permission is None or actor.has_perm(p.permission)),
        key=lambda p: (p.order, p.key),
    )


def render_contact_panels(*, tenant: Tenant, actor: Actor, contact: Contact,
                          request: Any = None) -> list[RenderedPanel]:
    """Each visible panel rendered to HTML (panels whose context is None are left out)."""
    rendered = []
    for panel in contact_panels(actor):
        context: dict[str, Any] | None = {}
        if panel.context_func is not None:
            context = panel.context_func(tenant=tenant, actor=actor, contact=contact)
        if context is None:
            continue
        html = render_to_string(panel.template, {**context, "contact": contact,
                                                 "tenant": tenant, "panel": panel},
                                request=request)
        rendered.append(RenderedPanel(panel=panel, html=SafeString(html)))
    return rendered
