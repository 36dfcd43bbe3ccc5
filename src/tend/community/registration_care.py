"""What community's care part registers (called from `registration.register`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import NavEntry, register_nav_entry
from tend.core.permissions import PermissionArea, register_area


def register() -> None:
    register_area(PermissionArea("units", _("Units"), "community", ("view", "change")))
    register_area(PermissionArea("care", _("Mentoring, lessons and practice"), "community",
                                 ("view", "change", "manage")))
    for entry in (
        NavEntry(_("Units"), "community:care-units", "units.view"),
        NavEntry(_("Attention"), "community:care-attention", "care.view"),
        NavEntry(_("My mentees"), "community:care-mentees", "care.view"),
        NavEntry(_("Courses"), "community:care-courses", "care.view"),
    ):
        register_nav_entry("community", entry)

    from tend.community import rules_fields_care

    rules_fields_care.register()

    from tend.community.services import care_mentors
    from tend.messaging.signals import message_received, message_status_changed
    from tend.people.signals import interaction_logged

    interaction_logged.connect(care_mentors.on_interaction_logged,
                               dispatch_uid="community.care.interaction")
    message_received.connect(care_mentors.on_message_received,
                             dispatch_uid="community.care.message_received")
    message_status_changed.connect(care_mentors.on_message_status_changed,
                                   dispatch_uid="community.care.message_status")

    from tend.community.services.care_practice_flow import PracticeFlow
    from tend.messaging.flows import register_flow

    register_flow(PracticeFlow())

    from tend.community.demo_care import load_care_demo
    from tend.core.demo import register_demo

    register_demo(load_care_demo, order=600)

    from tend.community.selectors import care_panels, care_scope

    care_panels.register()
    care_scope.register()

    from tend.community.services import care_reminders

    care_reminders.register()

    from tend.community.services import care_privacy

    care_privacy.register()
