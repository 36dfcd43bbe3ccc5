"""Marketing URLs: one include per area module in `views/`."""

from django.urls import include, path

app_name = "marketing"

urlpatterns: list = [
    path("", include("tend.marketing.views.segments")),
    path("", include("tend.marketing.views.journeys")),
    path("", include("tend.marketing.views.tracking")),
    path("", include("tend.marketing.views.campaigns")),
    path("", include("tend.marketing.views.campaigns_promotion")),
    path("", include("tend.marketing.views.reminders")),
    path("", include("tend.marketing.views.social")),
    path("", include("tend.marketing.views.webhooks_out")),
]
