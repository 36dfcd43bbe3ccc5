"""What marketing's journeys register (called from `registration.register`): the permission
area, the navigation entries, the periodic engine and date trigger, the trigger receivers,
the contact panel and the demo."""

from __future__ import annotations

import os

from django.utils.translation import gettext_lazy as _

# How often the tick advances due enrollments (seconds; the environment may shorten it, as
# the worker tests do) and looks for dates coming round.
JOURNEY_TICK_SECONDS = float(os.environ.get("TEND_JOURNEY_TICK_SECONDS", "5"))
# How many tick workers may advance enrollments at the same time: the engine's job is
# registered this many times ("marketing.journeys_run", then ".2", ".3"…), and a periodic
# job runs on one worker at a time, so N workers can each run one lane; the lanes share the
# due enrollments through the claim's SKIP LOCKED. One lane: one worker at a time.
JOURNEY_LANES = max(1, int(os.environ.get("TEND_JOURNEY_LANES", "1") or 1))
DATES_TICK_SECONDS = 3600


def register() -> None:
    from tend.core.demo import register_demo
    from tend.core.modules import NavEntry, register_nav_entry
    from tend.core.periodic import register_periodic
    from tend.core.permissions import PermissionArea, register_area
    from tend.marketing.demo_journeys import load_journeys_demo
    from tend.marketing.services.journeys_triggers import (
        on_activity_recorded,
        on_segment_membership_changed,
    )
    from tend.marketing.signals import segment_membership_changed
    from tend.marketing.tasks_journeys import journeys_dates_tick, journeys_tick
    from tend.people.signals import activity_recorded

    register_area(PermissionArea(
        "journeys", _("Journeys"), "marketing", ("view", "add", "change", "delete", "send"),
        help=_("“send” enrolls contacts and takes them out.")))
    register_nav_entry("marketing", NavEntry(_("Journeys"), "marketing:journeys-list",
                                             "journeys.view"))
    register_nav_entry("marketing", NavEntry(_("Journey inspector"),
                                             "marketing:journeys-inspector", "journeys.view"))
    for lane in range(1, JOURNEY_LANES + 1):
        register_periodic("marketing.journeys_run" + (f".{lane}" if lane > 1 else ""),
                          JOURNEY_TICK_SECONDS, journeys_tick)
    register_periodic("marketing.journeys_dates", DATES_TICK_SECONDS, journeys_dates_tick)
    activity_recorded.connect(on_activity_recorded, dispatch_uid="marketing.journeys.activity")
    segment_membership_changed.connect(on_segment_membership_changed,
                                       dispatch_uid="marketing.journeys.segments")
    register_demo(load_journeys_demo, order=510)
