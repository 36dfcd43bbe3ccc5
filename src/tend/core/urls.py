"""Core URLs: one include per area module in `views/`."""

from django.urls import include, path

app_name = "core"

urlpatterns: list = [
    # path("", include("tend.core.views.<area>")),
    path("", include("tend.core.views.dashboard")),
    path("", include("tend.core.views.organization")),
    path("", include("tend.core.views.members")),
    path("", include("tend.core.views.roles")),
    path("", include("tend.core.views.apikeys")),
    path("", include("tend.core.views.invitations")),
    path("", include("tend.core.views.jobs")),
    path("", include("tend.core.views.customfields")),
    path("", include("tend.core.views.tags")),
    path("", include("tend.core.views.audit")),
    path("", include("tend.core.views.notifications")),
]
