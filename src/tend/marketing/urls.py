"""Marketing URLs: one include per area module in `views/`."""

from django.urls import include, path

app_name = "marketing"

urlpatterns: list = [
    path("", include("tend.marketing.views.segments")),
]
