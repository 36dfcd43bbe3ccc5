"""What the marketing module contributes to the registries: permissions, the module and its
navigation, job kinds, the periodic refresh, the demo, timeline renderers, merge and privacy
participants, the segment rule field, and the receivers that keep segments true."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import Module, NavEntry, register_module
from tend.core.permissions import PermissionArea, register_area

# How often the tick looks for segments due a scheduled refresh.
REFRESH_TICK_SECONDS = 300


def register() -> None:
    from tend.core.demo import register_demo
    from tend.core.jobkinds import JobKind, register_job_kind
    from tend.core.periodic import register_periodic
    from tend.marketing import participants, receivers, rules_fields
    from tend.marketing.demo import load_segments_demo
    from tend.marketing.selectors.segments import static_segment_choices
    from tend.marketing.services.membership import list_add_members
    from tend.marketing.services.refreshjobs import (
        REFRESH_JOB_KIND,
        clean_refresh_params,
        run_refresh_job,
    )
    from tend.marketing.tasks import refresh_due_tick
    from tend.people.lists import ListProvider, register_list_provider
    from tend.people.merging import register_merge_participant
    from tend.people.privacy_registry import register_privacy_eraser, register_privacy_exporter
    from tend.people.timeline import TimelineRenderer, register_timeline_renderer

    register_area(PermissionArea("segments", _("Segments"), "marketing",
                                 ("view", "add", "change", "delete")))
    register_module(Module(
        key="marketing",
        label=_("Marketing"),
        description=_("Segments: static lists and audiences kept true by rules."),
        order=30,
        nav=(NavEntry(_("Segments"), "marketing:segments-list", "segments.view"),),
    ))
    register_list_provider(ListProvider(
        choices=lambda tenant: static_segment_choices(tenant=tenant), add=list_add_members,
        permission="segments.change"))
    register_job_kind(JobKind(
        REFRESH_JOB_KIND, _("Segment refresh"), run=run_refresh_job,
        description=_("Recomputes the members of a dynamic segment."),
        clean_params=clean_refresh_params,
        count_labels={"added": _("Entered"), "removed": _("Left")},
    ))
    register_periodic("marketing.segments_refresh", REFRESH_TICK_SECONDS, refresh_due_tick)
    register_demo(load_segments_demo, order=300)
    register_timeline_renderer("SEGMENT_ENTERED",
                               TimelineRenderer("segment", _("Entered segment %(title)s")))
    register_timeline_renderer("SEGMENT_LEFT",
                               TimelineRenderer("segment", _("Left segment %(title)s")))
    register_merge_participant("marketing.segments", participants.merge_memberships)
    register_privacy_exporter("segments", participants.export_memberships)
    register_privacy_eraser("segments", participants.erase_memberships)
    from tend.people.panels import register_contact_panel

    register_contact_panel("marketing.segments", _("Segments"),
                           "marketing/partials/contact_segments.html",
                           context_func=participants.segments_panel_context,
                           permission="segments.view", order=150)
    rules_fields.register()
    receivers.connect()
    from tend.marketing import (
        registration_automation,
        registration_campaigns,
        registration_journeys,
    )

    registration_campaigns.register()
    registration_journeys.register()
    registration_automation.register()
