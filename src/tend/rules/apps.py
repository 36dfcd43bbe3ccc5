from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "tend.rules"
    label = "rules"
    verbose_name = _("Rules")

    def ready(self) -> None:
        from tend.core.modules import NavEntry, register_nav_entry

        register_nav_entry("people", NavEntry(_("Try a rule"), "rules:try", "contacts.view"))
