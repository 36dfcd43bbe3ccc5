"""What the community module contributes to the registries: the module itself, then each
part's own registration (am-crm's units, mentors, lessons, practice and attention; The
Progress Method's pods, commitments and goals)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import Module, register_module


def register() -> None:
    register_module(Module(
        key="community",
        label=_("Community"),
        description=_("Units, mentors, initiations, lessons, practice and attention; pods, "
                      "matching, commitments and streaks."),
        order=40,
        nav=(),
    ))
    from tend.community import registration_care, registration_pods

    registration_care.register()
    registration_pods.register()
