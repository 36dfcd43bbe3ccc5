"""What community's pods part registers (called from `registration.register`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from tend.core.modules import NavEntry, register_nav_entry
from tend.core.permissions import PermissionArea, register_area


def register() -> None:
    register_area(PermissionArea("pods", _("Pods, commitments and goals"), "community",
                                 ("view", "change")))
    for entry in (
        NavEntry(_("Pods"), "community:pods", "pods.view"),
        NavEntry(_("Pod matching"), "community:pods-matching", "pods.change"),
        NavEntry(_("Progress KPIs"), "community:pods-kpis", "pods.view"),
    ):
        register_nav_entry("community", entry)

    from tend.community import flows_pods, rules_fields_pods

    rules_fields_pods.register()
    flows_pods.register()

    from tend.community.services import pods_tick
    from tend.core.periodic import register_periodic

    register_periodic("community.pods", 300, pods_tick.pods_tick)

    from tend.community.selectors import pods_panels

    pods_panels.register()

    from tend.community.services import pods_people
    from tend.community.services.commitments import COMPLETED_TYPE
    from tend.community.services.pods_core import JOINED_TYPE, LEFT_TYPE
    from tend.people.merging import register_merge_participant
    from tend.people.privacy_registry import register_privacy_eraser, register_privacy_exporter
    from tend.people.timeline import TimelineRenderer, register_timeline_renderer

    register_merge_participant("community.pods", pods_people.merge_pods_rows)
    register_privacy_exporter("pods", pods_people.export_pods)
    register_privacy_eraser("pods", pods_people.erase_pods)
    register_timeline_renderer(JOINED_TYPE, TimelineRenderer(
        "user-plus", _("Joined the pod %(title)s")))
    register_timeline_renderer(LEFT_TYPE, TimelineRenderer("dot", _("Left the pod %(title)s")))
    register_timeline_renderer(COMPLETED_TYPE, TimelineRenderer(
        "star", _("Completed a commitment: %(title)s")))

    from tend.community import demo_pods  # noqa: F401
