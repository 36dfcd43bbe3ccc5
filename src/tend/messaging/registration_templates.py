"""What the templates part of messaging registers (called from `registration.register`): the
Templates page, the variables templates may use, and the system templates (English and
Arabic) every new organization gets."""

from __future__ import annotations

from typing import Any


def on_tenant_created(sender: Any, tenant: Any, actor: Any, **kwargs: Any) -> None:
    from tend.messaging.system_templates import system_templates_create

    system_templates_create(tenant=tenant)


def register() -> None:
    from django.utils.translation import gettext_lazy as _

    from tend.core.modules import NavEntry, register_nav_entry
    from tend.core.signals import tenant_created
    from tend.messaging.system_templates import register_variables

    register_variables()
    register_nav_entry("messaging", NavEntry(_("Templates"), "messaging:templates",
                                             "templates.view"))
    tenant_created.connect(on_tenant_created, dispatch_uid="messaging.system_templates")
