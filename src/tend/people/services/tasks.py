"""Tasks: to-dos for staff members, optionally about a contact or a company."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import Tenant, User
from tend.core.services.audit import audit_record
from tend.core.services.guards import check_perm
from tend.core.text import clean_text
from tend.people.choices import TaskPriority, TaskStatus
from tend.people.models import Company, Contact, Task
from tend.people.services._checks import (
    check_contact_writable,
    clean_choice,
    is_current_member,
)

TITLE_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5_000
_UNSET: Any = object()


def _check_assignee(tenant: Tenant, assignee: User | None, errors: dict[str, list[str]]) -> None:
    if assignee is not None and not is_current_member(tenant, assignee):
        errors["assignee"] = [_("Choose a current member of this organization.")]


def _check_due(due_at: Any, errors: dict[str, list[str]]) -> None:
    if due_at is not None and (not isinstance(due_at, datetime) or timezone.is_naive(due_at)):
        errors["due_at"] = [_("Give a date and time with a time zone.")]


def task_create(*, tenant: Tenant, actor: Actor, title: str, description: str = "",
                due_at: datetime | None = None, assignee: User | None = None,
                priority: str = TaskPriority.NORMAL, contact: Contact | None = None,
                company: Company | None = None) -> Task:
    """Create an open task. Needs `tasks.add`. The assignee (default: nobody) must be a current
    member of `tenant`; `contact` and `company` must be `tenant`'s (callers look them up in
    the tenant scope) and the contact live."""
    check_perm(actor, "tasks.add")
    errors: dict[str, list[str]] = {}
    title = clean_text(title, "title", errors, required=True, limit=TITLE_MAX_LENGTH)
    description = clean_text(description, "description", errors, limit=DESCRIPTION_MAX_LENGTH)
    priority = clean_choice(priority or TaskPriority.NORMAL, "priority", TaskPriority, errors)
    _check_due(due_at, errors)
    _check_assignee(tenant, assignee, errors)
    if errors:
        raise ValidationFailed(fields=errors)
    check_contact_writable(contact)
    user = actor.acting_user
    with transaction.atomic():
        task = Task.objects.create(
            tenant=tenant, title=title, description=description, due_at=due_at,
            assignee=assignee, priority=priority, contact=contact, company=company,
            created_by=user, updated_by=user,
        )
        audit_record(tenant=tenant, actor=actor, action="task.created", entity_type="task",
                     entity_id=task.pk, changes={
                         "assignee_id": str(assignee.pk) if assignee else None,
                         "contact_id": str(contact.pk) if contact else None,
                         "company_id": str(company.pk) if company else None})
    return task


def task_update(*, tenant: Tenant, actor: Actor, task: Task, title: str | None = None,
                description: str | None = None, due_at: Any = _UNSET, assignee: Any = _UNSET,
                priority: str | None = None, contact: Any = _UNSET,
                company: Any = _UNSET) -> Task:
    """Change the fields given (`due_at`, `assignee`, `contact`, `company` set to None clear
    them). Needs `tasks.change`; a new assignee must be a current member, a new contact live
    and `tenant`'s (callers look contacts and companies up in the tenant scope)."""
    check_perm(actor, "tasks.change")
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if title is not None:
        changes["title"] = clean_text(title, "title", errors, required=True,
                                      limit=TITLE_MAX_LENGTH)
    if description is not None:
        changes["description"] = clean_text(description, "description", errors,
                                            limit=DESCRIPTION_MAX_LENGTH)
    if priority is not None:
        changes["priority"] = clean_choice(priority, "priority", TaskPriority, errors)
    if due_at is not _UNSET:
        _check_due(due_at, errors)
        changes["due_at"] = due_at
    if assignee is not _UNSET:
        if assignee is not None and assignee.pk != task.assignee_id:
            _check_assignee(tenant, assignee, errors)
        changes["assignee"] = assignee
    for name, related in (("contact", contact), ("company", company)):
        if related is _UNSET:
            continue
        if related is not None and related.tenant_id != tenant.pk:
            errors[name] = [_("Choose one of this organization's.")]
        changes[name] = related
    if errors:
        raise ValidationFailed(fields=errors)
    changed = [name for name, value in changes.items() if getattr(task, name) != value]
    if "contact" in changed:
        check_contact_writable(changes["contact"])
    if not changed:
        return task
    with transaction.atomic():
        for name in changed:
            setattr(task, name, changes[name])
        task.updated_by = actor.acting_user
        task.save(update_fields=[*changed, "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action="task.updated", entity_type="task",
                     entity_id=task.pk, changes={
                         "fields": changed,
                         **{f"{name}_id": str(getattr(task, f"{name}_id") or "") or None
                            for name in ("assignee", "contact", "company") if name in changed}})
    return task


def _set_status(tenant: Tenant, actor: Actor, task: Task, status: str, action: str) -> Task:
    check_perm(actor, "tasks.change")
    if task.status == status:
        return task
    with transaction.atomic():
        task.status = status
        task.completed_at = timezone.now() if status == TaskStatus.DONE else None
        task.updated_by = actor.acting_user
        task.save(update_fields=["status", "completed_at", "updated_by", "updated_at"])
        audit_record(tenant=tenant, actor=actor, action=action, entity_type="task",
                     entity_id=task.pk)
    return task


def task_complete(*, tenant: Tenant, actor: Actor, task: Task) -> Task:
    """Mark a task done (now). Needs `tasks.change`; a done task stays as it is."""
    return _set_status(tenant, actor, task, TaskStatus.DONE, "task.completed")


def task_reopen(*, tenant: Tenant, actor: Actor, task: Task) -> Task:
    """Open a done or cancelled task again. Needs `tasks.change`."""
    return _set_status(tenant, actor, task, TaskStatus.OPEN, "task.reopened")


def task_delete(*, tenant: Tenant, actor: Actor, task: Task) -> None:
    """Delete a task. Needs `tasks.delete`."""
    check_perm(actor, "tasks.delete")
    with transaction.atomic():
        task_id = task.pk
        task.delete()
        audit_record(tenant=tenant, actor=actor, action="task.deleted", entity_type="task",
                     entity_id=task_id)
