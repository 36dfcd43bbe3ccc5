"""Community URLs: one include per area module in `views/`."""

from django.urls import include, path

app_name = "community"

urlpatterns: list = [
    path("", include("tend.community.views.care_units")),
    path("", include("tend.community.views.care_attention")),
    path("", include("tend.community.views.care_courses")),
    path("", include("tend.community.views.pods_settings")),
    path("", include("tend.community.views.pods_core")),
]
