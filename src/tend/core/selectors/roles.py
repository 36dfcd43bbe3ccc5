"""Reading roles and the permission matrix (call inside the tenant scope)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tend.core.errors import NotFound
from tend.core.models import Role, Tenant
from tend.core.modules import get_module
from tend.core.permissions import ACTIONS, areas

# The core's areas belong to no switchable module; its "core" entry in the module registry is
# the navigation's overview, whose label would mislead here.
_CORE_LABEL = gettext_lazy("Core")


def role_list(*, tenant: Tenant) -> QuerySet[Role]:
    """Roles with `member_count`, built-in ones first."""
    return (
        Role.objects.filter(tenant=tenant)
        .annotate(member_count=Count("memberships"))
        .order_by("-is_builtin", "name")
    )


def role_get(*, tenant: Tenant, role_id: UUID | str) -> Role:
    """One role of `tenant`, or `NotFound` (also for malformed ids and other tenants)."""
    try:
        return Role.objects.annotate(member_count=Count("memberships")).get(
            tenant=tenant, pk=role_id
        )
    except (Role.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such role.")) from None


@dataclass(frozen=True)
class MatrixCell:
    action: str
    permission: str  # "" where the area has no such action
    checked: bool


@dataclass(frozen=True)
class MatrixRow:
    area: str
    label: str | Promise
    module: str
    cells: tuple[MatrixCell, ...]
    module_label: str | Promise = ""


def _module_label(key: str) -> str | Promise:
    if key == "core":
        return _CORE_LABEL
    module = get_module(key)
    return module.label if module is not None else key


def permission_matrix(granted: frozenset[str] | set[str]) -> tuple[tuple[str, ...],
                                                                      list[MatrixRow]]:
    """The registry as rows of areas by the action columns, marking `granted` permissions."""
    rows = []
    for area in areas():
        cells = tuple(
            MatrixCell(action, f"{area.key}.{action}" if action in area.actions else "",
                       f"{area.key}.{action}" in granted)
            for action in ACTIONS
        )
        rows.append(MatrixRow(area.key, area.label, area.module, cells,
                              _module_label(area.module)))
    return ACTIONS, rows
