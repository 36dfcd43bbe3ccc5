"""Roles: list, read, create, change and delete custom roles; the permission registry."""

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import Page, PageParams, paginate, request_actor, require
from tend.core.models import Role
from tend.core.permissions import areas
from tend.core.selectors.roles import role_get, role_list
from tend.core.services.roles import role_create, role_delete, role_update

router = Router(tags=["Roles"])


class RoleOut(Schema):
    id: UUID
    key: str
    name: str
    description: str
    is_builtin: bool = Field(description="Built-in roles are read-only; their permissions "
                                         "follow the registry.")
    permissions: list[str]
    member_count: int
    created_at: datetime

    @staticmethod
    def resolve_permissions(obj: Role) -> list[str]:
        return sorted(obj.permission_set())

    @staticmethod
    def resolve_member_count(obj: Role) -> int:
        return getattr(obj, "member_count", 0)


class RoleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(max_length=50, description="Lowercase letters, digits, - and _; fixed.")
    name: str = Field(max_length=100)
    description: str = Field("", max_length=300)
    permissions: list[str] = Field(default_factory=list,
                                   description="Permissions you hold, e.g. [\"tags.view\"].")


class RolePatch(Schema):
    """Only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=300)
    permissions: list[str] | None = None


class RoleFilter(Schema):
    builtin: bool | None = Field(None, description="true: built-in roles only; false: custom.")


class PermissionAreaOut(Schema):
    key: str
    label: str
    module: str
    actions: list[str]
    permissions: list[str]


@router.get("/permissions", response=list[PermissionAreaOut])
def permissions_list(request: HttpRequest):
    """Every permission area and its actions: what roles and API keys can be made of."""
    request_actor(request)
    return [
        {"key": a.key, "label": str(a.label), "module": a.module, "actions": list(a.actions),
         "permissions": [f"{a.key}.{x}" for x in a.actions]}
        for a in areas()
    ]


@router.get("/roles", response=Page[RoleOut])
def roles_list(request: HttpRequest, page: Query[PageParams], filters: Query[RoleFilter]):
    """The organization's roles, oldest first. Needs `roles.view`."""
    require(request, "roles.view")
    roles = role_list(tenant=request.tenant)  # type: ignore[attr-defined]
    if filters.builtin is not None:
        roles = roles.filter(is_builtin=filters.builtin)
    return paginate(roles, page, ordering=("created_at", "id"))


@router.get("/roles/{role_id}", response=RoleOut)
def roles_get(request: HttpRequest, role_id: UUID):
    """One role. Needs `roles.view`."""
    require(request, "roles.view")
    return role_get(tenant=request.tenant, role_id=role_id)  # type: ignore[attr-defined]


@router.post("/roles", response={201: RoleOut})
def roles_create(request: HttpRequest, payload: RoleIn):
    """Create a custom role from permissions you hold. Needs `roles.add`."""
    actor = require(request, "roles.add")
    tenant = request.tenant  # type: ignore[attr-defined]
    role = role_create(tenant=tenant, actor=actor, key=payload.key, name=payload.name,
                       description=payload.description, permissions=payload.permissions)
    return Status(201, role_get(tenant=tenant, role_id=role.pk))


@router.patch("/roles/{role_id}", response=RoleOut)
def roles_update(request: HttpRequest, role_id: UUID, payload: RolePatch):
    """Change a custom role; built-in roles answer 403. You may add only permissions you
    hold. Needs `roles.change`."""
    actor = require(request, "roles.change")
    tenant = request.tenant  # type: ignore[attr-defined]
    role = role_get(tenant=tenant, role_id=role_id)
    role_update(tenant=tenant, actor=actor, role=role, **payload.model_dump(exclude_unset=True))
    return role_get(tenant=tenant, role_id=role_id)


@router.delete("/roles/{role_id}", response={204: None})
def roles_delete(request: HttpRequest, role_id: UUID):
    """Delete a custom role nobody holds (409 while members or pending invitations use it).
    Needs `roles.delete`."""
    actor = require(request, "roles.delete")
    tenant = request.tenant  # type: ignore[attr-defined]
    role_delete(tenant=tenant, actor=actor, role=role_get(tenant=tenant, role_id=role_id))
    return Status(204, None)
