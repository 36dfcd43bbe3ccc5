"""System checks that keep the tenancy rules true as modules are added.

Every concrete model of a Tend app is tenant-owned unless it is declared global here (with a
reason). A tenant-owned model must have a non-null `tenant` foreign key to `core.Tenant`, use
only fail-closed (django-scopes) managers, and include the tenant in every unique constraint,
`unique_together` and unique field. `manage.py check` (and so `migrate` and the test suite)
fails when one does not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core import checks
from django.db import models
from django.db.models.expressions import Col, F

# Models that are deliberately shared by all organizations: "<app_label>.<model_name>" →
# why. Modules declare theirs with `declare_global_model` from `AppConfig.ready()`.
_GLOBAL_MODELS: dict[str, str] = {
    "core.tenant": "the organization itself",
    "core.user": "staff accounts belong to several organizations through Membership",
    "core.periodicjob": "the platform-wide schedule of the periodic tick",
}


def declare_global_model(label: str, reason: str) -> None:
    """Exempt a model ("app_label.ModelName") from the tenancy checks, saying why."""
    if not reason.strip():
        raise ValueError("a global model needs a reason")
    _GLOBAL_MODELS[label.lower()] = reason


def global_models() -> dict[str, str]:
    return dict(_GLOBAL_MODELS)


@dataclass(frozen=True)
class TenancyProblem:
    model: type[models.Model]
    message: str
    id: str

    def __str__(self) -> str:
        return f"{self.model._meta.label}: {self.message} ({self.id})"


def tend_models() -> list[type[models.Model]]:
    """Concrete models defined by Tend's own apps."""
    return [
        m for m in apps.get_models()
        if m.__module__.startswith("tend.") and not m._meta.abstract and not m._meta.proxy
    ]


def _expression_fields(expressions: Iterable[Any]) -> set[str]:
    names: set[str] = set()
    for expr in expressions:
        if isinstance(expr, str):
            names.add(expr)
        elif isinstance(expr, F):
            names.add(str(expr.name))  # type: ignore[attr-defined]
        elif isinstance(expr, Col):
            names.add(expr.target.name)
        elif hasattr(expr, "get_source_expressions"):
            names |= _expression_fields(expr.get_source_expressions())
    return names


def constraint_fields(constraint: Any) -> set[str]:
    """The field names a (unique) constraint covers, whether given as fields or expressions."""
    names = set(getattr(constraint, "fields", ()) or ())
    names |= _expression_fields(getattr(constraint, "expressions", ()) or ())
    return {n[:-3] if n.endswith("_id") else n for n in names}


def _is_scoped(manager: Any) -> bool:
    return hasattr(manager, "with_scopes_disabled")


def tenancy_problems(models_: Iterable[type[models.Model]] | None = None) -> list[TenancyProblem]:
    """Every breach of the tenancy rules among `models_` (default: all Tend models)."""
    problems: list[TenancyProblem] = []
    for model in tend_models() if models_ is None else models_:
        if model._meta.label_lower in _GLOBAL_MODELS:
            continue

        def problem(message: str, code: str, model: type[models.Model] = model) -> None:
            problems.append(TenancyProblem(model, message, code))

        try:
            tenant_field = model._meta.get_field("tenant")
        except Exception:
            problem("has no `tenant` field; inherit TenantModel or declare it global", "tend.E003")
            continue
        related = getattr(tenant_field, "related_model", None)
        is_fk = tenant_field.many_to_one or tenant_field.one_to_one
        if not is_fk or related is None or related._meta.label_lower != "core.tenant":
            problem("`tenant` is not a foreign key to core.Tenant", "tend.E004")
        elif tenant_field.null:
            problem("`tenant` may be null", "tend.E005")
        for manager in model._meta.managers:
            if not _is_scoped(manager):
                problem(f"manager `{manager.name}` does not fail closed outside a tenant scope",
                        "tend.E006")
        for constraint in model._meta.constraints:
            if not isinstance(constraint, models.UniqueConstraint):
                continue
            if "tenant" not in constraint_fields(constraint):
                problem(f"unique constraint {constraint.name} omits tenant", "tend.E001")
        for fields in model._meta.unique_together:
            if "tenant" not in fields:
                problem(f"unique_together {tuple(fields)} omits tenant", "tend.E001")
        for f in model._meta.concrete_fields:
            if f.unique and not f.primary_key and f.name != "tenant":
                problem(f"field `{f.name}` is unique across tenants", "tend.E002")
        for m2m in model._meta.local_many_to_many:
            through = m2m.remote_field.through
            if through is not None and through._meta.auto_created:
                problem(f"many-to-many `{m2m.name}` stores its rows without a tenant; give it a "
                        f"`through` model that inherits TenantModel", "tend.E007")
    return problems


@checks.register()
def check_tenant_constraints(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Report every breach of the tenancy rules as a system check error."""
    return [
        checks.Error(p.message, obj=p.model, id=p.id)
        for p in tenancy_problems()
    ]
