"""The REST API root: `/api/v1`. Each Tend app contributes a `router` from its `api` module.

Every operation authenticates by API key (`Authorization: Bearer …`) or by the signed-in
session, runs inside its organization's tenant scope, and answers errors as problem+json;
see `tend.core.api.base` and docs/api.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI

from tend.core.api.base import ApiKeyAuth, SessionAuth, install, problem_response


def _no_such_route(request: HttpRequest, rest: str = "") -> HttpResponse:
    return problem_response(request, status=404, code="not_found",
                            detail="There is no such API route.")


PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details (see docs/api.md).",
    "required": ["type", "title", "status", "detail", "instance", "code", "errors"],
    "properties": {
        "type": {"type": "string", "example": "urn:tend:problem:validation_failed"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string", "example": "validation_failed"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "loc", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "loc": {"type": "array", "items": {"type": "string"}},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}
PROBLEM_STATUSES = {
    "400": "Malformed request body",
    "401": "Not authenticated",
    "403": "Permission denied",
    "404": "Not found (also for ids of other organizations)",
    "422": "Invalid input; `errors` lists the fields",
}


class TendAPI(NinjaAPI):
    """Ninja's API with two additions: paths under /api/v1/ that match no route answer a
    problem+json 404 too, and the OpenAPI document describes the problem responses."""

    def _get_urls(self) -> list[URLPattern | URLResolver]:
        return [*super()._get_urls(), re_path(r"^(?P<rest>.*)$", _no_such_route)]

    def get_openapi_schema(self, *, path_prefix: str | None = None,
                           path_params: dict[str, Any] | None = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        content = {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                statuses = dict(PROBLEM_STATUSES)
                if method == "post":
                    statuses["409"] = "An idempotent request with this key is still running"
                for status, description in statuses.items():
                    responses.setdefault(status, {"description": description,
                                                  "content": content})
        return schema


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
