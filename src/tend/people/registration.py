"""What the people module contributes to the core registries (module, permissions, …)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import Module, NavEntry, register_module, register_nav_entry
from tend.core.permissions import PermissionArea, register_area


def register() -> None:
    register_area(PermissionArea("contacts", _("Contacts"), "people",
                                 ("view", "add", "change", "delete", "export", "manage")))
    register_area(PermissionArea("companies", _("Companies"), "people",
                                 ("view", "add", "change", "delete", "export")))
    register_area(PermissionArea("activities", _("Activities and timeline"), "people",
                                 ("view", "add", "manage")))
    crud = ("view", "add", "change", "delete")
    register_area(PermissionArea("notes", _("Notes"), "people", crud))
    register_area(PermissionArea("tasks", _("Tasks"), "people", crud))
    register_area(PermissionArea("consents", _("Consent"), "people", ("view", "change")))
    register_area(PermissionArea("privacy", _("Privacy requests"), "people",
                                 ("view", "export", "manage"), admin_only=True))
    register_module(Module(
        key="people",
        label=_("People"),
        description=_("Contacts, companies, timeline, consent, import and export."),
        always_on=True,
        order=10,
        nav=(
            NavEntry(_("Contacts"), "people:contacts-list", "contacts.view"),
            NavEntry(_("Companies"), "people:companies-list", "companies.view"),
            NavEntry(_("My tasks"), "people:tasks-mine", "tasks.view"),
            NavEntry(_("Import"), "people:imports-list", "contacts.add"),
            NavEntry(_("Duplicates"), "people:duplicates-list", "contacts.manage"),
            NavEntry(_("Ingestion"), "people:ingestion-sources", "activities.manage"),
        ),
    ))
    register_nav_entry("settings", NavEntry(_("Data retention"), "people:privacy-retention",
                                            "privacy.view", icon="shield"))
    from tend.core.demo import register_demo
    from tend.people.demo_contact_page import load_contact_page_demo
    from tend.people.timeline import register_people_renderers

    register_people_renderers()
    register_demo(load_contact_page_demo, order=110)
    from tend.people import registration_merge

    registration_merge.register()
    from tend.people import registration_contacts

    registration_contacts.register()
    from tend.people import registration_ingestion

    registration_ingestion.register()
    from tend.people import registration_imports

    registration_imports.register()
    from tend.people import rules_fields

    rules_fields.register()
