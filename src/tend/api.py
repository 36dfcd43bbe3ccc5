"""The REST API root: `/api/v1`. Each Tend app contributes a `router` from its `api` module.

Every operation authenticates by API key (`Authorization: Bearer …`) or by the signed-in
session, runs inside its organization's tenant scope, and answers errors as problem+json;
see `tend.core.api.base` and docs/api.md.
"""

from __future__ import annotations

from importlib import import_module

from django.apps import apps
from ninja import NinjaAPI

from tend.core.api.base import ApiKeyAuth, SessionAuth, install

api = NinjaAPI(
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
