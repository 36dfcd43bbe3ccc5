"""Core URLs: one include per area module in `views/`."""

from django.urls import include, path

app_name = "core"

urlpatterns: list = [
    # path("", include("tend.core.views.<area>")),
    path("", include("tend.core.views.apikeys")),
]
