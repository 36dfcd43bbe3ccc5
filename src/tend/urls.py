from importlib import import_module

from django.apps import apps
from django.urls import include, path

from tend.api import api
from tend.core.admin import site as admin_site


def _app_urls() -> list:
    """Each Tend app may contribute `urlpatterns` from its `urls` module."""
    patterns = []
    for config in apps.get_app_configs():
        if config.name.startswith("tend."):
            try:
                module = import_module(f"{config.name}.urls")
            except ModuleNotFoundError as exc:
                if exc.name == f"{config.name}.urls":
                    continue
                raise
            patterns.append(path("", include(module)))
    return patterns


urlpatterns = [
    path("admin/", admin_site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    *_app_urls(),
]
