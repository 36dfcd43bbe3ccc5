"""Messaging URLs: one include per area module in `views/` (each exposes `urlpatterns`)."""

from django.urls import include, path

app_name = "messaging"

urlpatterns: list = [
    path("", include("tend.messaging.views.hooks")),
    path("", include("tend.messaging.views.channels")),
    path("", include("tend.messaging.views.unsubscribe")),
    path("", include("tend.messaging.views.inbox")),
    path("", include("tend.messaging.views.templates")),
    path("", include("tend.messaging.views.webchat")),
    path("", include("tend.messaging.views.outbox")),
]
