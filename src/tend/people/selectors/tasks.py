"""Reading tasks; "my tasks" is the open tasks assigned to me, overdue first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import DateTimeField, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.errors import NotFound
from tend.core.models import Tenant
from tend.people.choices import TaskStatus
from tend.people.models import Task

# Tasks without a due time sort after every dated one.
NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)
TASK_ORDERING = ("due_sort", "id")


def task_list(*, tenant: Tenant, filters: dict[str, Any] | None = None) -> QuerySet[Task]:
    """`tenant`'s tasks in due order (undated last), with assignee, contact and company.

    Filters: `assignee` (a user id), `status`, `contact` (id), `company` (id), `overdue`
    (True: open and due before now), `due_before` (a datetime)."""
    filters = filters or {}
    qs = (Task.objects.filter(tenant=tenant)
          .select_related("assignee", "contact", "company")
          .annotate(due_sort=Coalesce("due_at", Value(NO_DUE, output_field=DateTimeField()))))
    if filters.get("assignee"):
        qs = qs.filter(assignee_id=filters["assignee"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("contact"):
        qs = qs.filter(contact_id=filters["contact"])
    if filters.get("company"):
        qs = qs.filter(company_id=filters["company"])
    if filters.get("overdue"):
        qs = qs.filter(status=TaskStatus.OPEN, due_at__lt=timezone.now())
    if filters.get("due_before"):
        qs = qs.filter(due_at__lt=filters["due_before"])
    return qs.order_by(*TASK_ORDERING)


def my_tasks(*, tenant: Tenant, user: Any) -> QuerySet[Task]:
    """Open tasks assigned to `user`, overdue first, then by due time, undated last."""
    return task_list(tenant=tenant, filters={"assignee": user.pk, "status": TaskStatus.OPEN})


def task_get(*, tenant: Tenant, task_id: UUID | str | Any) -> Task:
    try:
        return (Task.objects.select_related("assignee", "contact", "company")
                .get(tenant=tenant, pk=task_id))
    except (Task.DoesNotExist, ValueError, TypeError, DjangoValidationError):
        raise NotFound(_("No such task.")) from None
