from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "tend.rules"
    label = "rules"
    verbose_name = _("Rules")

    def ready(self) -> None:
        from tend.core.modules import NavEntry, register_nav_entry
        from tend.core.signals import tenant_created
        from tend.rules.registry import fields_version_create

        tenant_created.connect(fields_version_create, dispatch_uid="rules.fields_version")

        register_nav_entry("people", NavEntry(_("Try a rule"), "rules:try", "contacts.view"))
