"""The REST API root: `/api/v1`. Each Tend app contributes a `router` from its `api` module.

Every operation authenticates by API key (`Authorization: Bearer …`) or by the signed-in
session, runs inside its organization's tenant scope, and answers errors as problem+json;
see `tend.core.api.base` and docs/api.md.
"""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI

from tend.core.api.base import ApiKeyAuth, SessionAuth, install, problem_response


def _no_such_route(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problem_response(request, status=404, code="not_found",
                            detail="There is no such API route.")


class TendAPI(NinjaAPI):
    """Ninja's API with one addition: paths under /api/v1/ that match no route answer a
    problem+json 404 too, not Django's HTML page."""

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        return [*super()._get_urls(), re_path(r"^(?P<rest>.*)$", _no_such_route)]


api = TendAPI(
    title="Tend API",
    version="1",
    description="The Tend REST API. Conventions (auth, errors, pagination, idempotency): "
    "see docs/api.md.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[ApiKeyAuth(), SessionAuth()],
)
install(api)


def _mount_app_routers() -> None:
    for config in apps.get_app_configs():
        if not config.name.startswith("tend."):
            continue
        try:
            module = import_module(f"{config.name}.api")
        except ModuleNotFoundError as exc:
            if exc.name == f"{config.name}.api":
                continue
            raise
        router = getattr(module, "router", None)
        if router is not None:
            api.add_router("/", router)


_mount_app_routers()
