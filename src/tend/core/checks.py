"""System checks that keep the tenancy rules true as modules are added."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks


@checks.register()
def check_tenant_constraints(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every unique constraint of a tenant-owned model must include the tenant."""
    errors: list[checks.CheckMessage] = []
    for model in apps.get_models():
        fields = {f.name for f in model._meta.concrete_fields}
        if "tenant" not in fields or not model.__module__.startswith("tend."):
            continue
        for constraint in model._meta.constraints:
            cfields = getattr(constraint, "fields", ())
            if cfields and "tenant" not in cfields:
                errors.append(
                    checks.Error(
                        f"{model.__name__}.{constraint.name} omits tenant",
                        obj=model,
                        id="tend.E001",
                    )
                )
        for f in model._meta.concrete_fields:
            if f.unique and not f.primary_key:
                errors.append(
                    checks.Error(
                        f"{model.__name__}.{f.name} is unique across tenants",
                        obj=model,
                        id="tend.E002",
                    )
                )
    return errors
