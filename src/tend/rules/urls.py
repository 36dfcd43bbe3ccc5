"""Rules URLs: the rule builder's endpoint and the "Try a rule" page."""

from django.urls import include, path

app_name = "rules"

urlpatterns: list = [
    path("", include("tend.rules.views.builder")),
]
