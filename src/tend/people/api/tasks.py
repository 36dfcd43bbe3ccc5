"""Tasks: list (with `assignee=me`), create, read, change, complete, reopen, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from tend.core.api.base import ApiRequest, Page, PageParams, paginate, require
from tend.core.errors import ValidationFailed
from tend.people.api._contact_page import (
    UserRef,
    aware,
    company_in_body,
    contact_in_body,
    member_user,
)
from tend.people.choices import TaskPriority, TaskStatus
from tend.people.selectors.tasks import TASK_ORDERING, task_get, task_list
from tend.people.services.tasks import (
    task_complete,
    task_create,
    task_delete,
    task_reopen,
    task_update,
)

router = Router(tags=["Tasks"])


class ContactRef(Schema):
    id: UUID
    display_name: str


class TaskOut(Schema):
    id: UUID
    title: str
    description: str
    status: str
    priority: str
    due_at: datetime | None
    is_overdue: bool
    assignee: UserRef | None
    contact: ContactRef | None
    company_id: UUID | None
    completed_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_is_overdue(obj: Any) -> bool:
        from django.utils import timezone

        return bool(obj.status == TaskStatus.OPEN and obj.due_at and
                    obj.due_at < timezone.now())


class TaskFilter(Schema):
    assignee: str | None = Field(None, description="`me`, or a user id.")
    status: TaskStatus | None = None
    contact_id: UUID | None = None
    company_id: UUID | None = None
    overdue: bool | None = Field(None, description="Only open tasks past their due time.")


class TaskIn(Schema):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=200)
    description: str = Field("", max_length=5_000)
    due_at: datetime | None = None
    assignee_id: UUID | None = Field(None, description="A member of this organization.")
    priority: TaskPriority = TaskPriority.NORMAL
    contact_id: UUID | None = None
    company_id: UUID | None = None


class TaskPatch(Schema):
    """Only the fields sent change; `null` clears `due_at`, `assignee_id`, `contact_id` and
    `company_id`."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5_000)
    due_at: datetime | None = None
    assignee_id: UUID | None = None
    priority: TaskPriority | None = None
    contact_id: UUID | None = None
    company_id: UUID | None = None


def _assignee_filter(request: ApiRequest, value: str | None) -> Any:
    if not value:
        return None
    if value == "me":
        user = request.actor.acting_user
        return user.pk if user is not None else "none"
    try:
        return UUID(value)
    except ValueError:
        raise ValidationFailed(fields={"assignee": [_("Give `me` or a user id.")]}) from None


@router.get("/tasks", response=Page[TaskOut])
def tasks_list(request: ApiRequest, page: Query[PageParams], filters: Query[TaskFilter]) -> Any:
    """Tasks in due order (overdue first, undated last); `assignee=me&status=OPEN` is "my
    tasks". Needs `tasks.view`."""
    require(request, "tasks.view")
    assignee = _assignee_filter(request, filters.assignee)
    if assignee == "none":
        return {"items": [], "next_cursor": None}
    qs = task_list(tenant=request.tenant, filters={
        "assignee": assignee, "status": filters.status, "contact": filters.contact_id,
        "company": filters.company_id, "overdue": filters.overdue,
    })
    return paginate(qs, page, ordering=TASK_ORDERING)


@router.post("/tasks", response={201: TaskOut})
def tasks_create(request: ApiRequest, payload: TaskIn) -> Any:
    """Create a task, optionally about a contact and assigned to a member. Needs `tasks.add`."""
    actor = require(request, "tasks.add")
    task = task_create(
        tenant=request.tenant, actor=actor, title=payload.title,
        description=payload.description, due_at=aware(payload.due_at, "due_at"),
        assignee=member_user(request, payload.assignee_id), priority=payload.priority,
        contact=contact_in_body(request, payload.contact_id),
        company=company_in_body(request, payload.company_id),
    )
    return Status(201, task_get(tenant=request.tenant, task_id=task.pk))


@router.get("/tasks/{task_id}", response=TaskOut)
def tasks_get(request: ApiRequest, task_id: UUID) -> Any:
    """One task. Needs `tasks.view`."""
    require(request, "tasks.view")
    return task_get(tenant=request.tenant, task_id=task_id)


@router.patch("/tasks/{task_id}", response=TaskOut)
def tasks_update(request: ApiRequest, task_id: UUID, payload: TaskPatch) -> Any:
    """Change a task: title, description, due time, priority, assignee, the contact or company
    it is about. Needs `tasks.change`."""
    actor = require(request, "tasks.change")
    task = task_get(tenant=request.tenant, task_id=task_id)
    sent = payload.model_fields_set
    kwargs: dict[str, Any] = {"title": payload.title, "description": payload.description,
                              "priority": payload.priority}
    if "due_at" in sent:
        kwargs["due_at"] = aware(payload.due_at, "due_at")
    if "assignee_id" in sent:
        kwargs["assignee"] = member_user(request, payload.assignee_id)
    if "contact_id" in sent:
        kwargs["contact"] = contact_in_body(request, payload.contact_id)
    if "company_id" in sent:
        kwargs["company"] = company_in_body(request, payload.company_id)
    task_update(tenant=request.tenant, actor=actor, task=task, **kwargs)
    return task_get(tenant=request.tenant, task_id=task.pk)


@router.post("/tasks/{task_id}/complete", response=TaskOut)
def tasks_complete(request: ApiRequest, task_id: UUID) -> Any:
    """Mark a task done. Needs `tasks.change`."""
    actor = require(request, "tasks.change")
    task = task_get(tenant=request.tenant, task_id=task_id)
    return task_complete(tenant=request.tenant, actor=actor, task=task)


@router.post("/tasks/{task_id}/reopen", response=TaskOut)
def tasks_reopen(request: ApiRequest, task_id: UUID) -> Any:
    """Open a done task again. Needs `tasks.change`."""
    actor = require(request, "tasks.change")
    task = task_get(tenant=request.tenant, task_id=task_id)
    return task_reopen(tenant=request.tenant, actor=actor, task=task)


@router.delete("/tasks/{task_id}", response={204: None})
def tasks_delete(request: ApiRequest, task_id: UUID) -> Any:
    """Delete a task. Needs `tasks.delete`."""
    actor = require(request, "tasks.delete")
    task = task_get(tenant=request.tenant, task_id=task_id)
    task_delete(tenant=request.tenant, actor=actor, task=task)
    return Status(204, None)

