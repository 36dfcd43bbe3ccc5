"""Staff notifications about work that falls due: "task due" for people's tasks.

A periodic job (every minute) finds open tasks with an assignee whose due time has come in the
last day and notifies the assignee once per due time (bell + email; the dedupe key holds the
due time, so moving a task's due date notifies again when the new time comes). Conversation
assignment notifies from `conversation_assign`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tend.core.models import Notification, Tenant
from tend.core.services.notifications import NotificationDraft, notifications_create_many
from tend.core.tenancy import system_scope, tenant_scope
from tend.people.choices import TaskStatus
from tend.people.models import Task

LOOKBACK = timedelta(days=1)
BATCH = 500


def task_due_key(task: Task) -> str:
    assert task.due_at is not None
    return f"task.due:{task.pk}:{task.due_at.isoformat()}"


def _task_url(tenant: Tenant, task: Task) -> str:
    try:
        if task.contact_id:
            return reverse("people:contacts-detail", kwargs={"org_slug": tenant.slug,
                                                             "contact_id": task.contact_id})
        return reverse("people:tasks-mine", kwargs={"org_slug": tenant.slug})
    except NoReverseMatch:
        return ""


def notify_due_tasks(due_at: datetime | None = None, *, now: datetime | None = None) -> int:
    """Notify the assignees of tasks that fell due (across organizations); returns how many
    notifications were made (one insert per organization). Safe to run again: each due time
    notifies once."""
    now = now or timezone.now()
    made = 0
    with system_scope():
        # Newest due first: each run sees what fell due since the last one even when many
        # older tasks (already notified) are still open.
        due = list(Task.objects.filter(status=TaskStatus.OPEN, assignee__isnull=False,
                                       due_at__lte=now, due_at__gt=now - LOOKBACK,
                                       tenant__is_active=True)
                   .select_related("tenant", "assignee", "contact")
                   .order_by("-due_at")[:BATCH])
        done = set(Notification.objects.filter(
            kind="task.due", dedupe_key__in=[task_due_key(t) for t in due])
            .values_list("tenant_id", "user_id", "dedupe_key"))
    due = [t for t in due if (t.tenant_id, t.assignee_id, task_due_key(t)) not in done]
    by_tenant: dict[Any, list[Task]] = defaultdict(list)
    for task in due:
        by_tenant[task.tenant_id].append(task)
    for tasks in by_tenant.values():
        tenant = tasks[0].tenant
        drafts = []
        for task in tasks:
            user = task.assignee
            assert user is not None
            with translation.override(user.language or tenant.default_language or "en"):
                title = _("Task due: %(title)s") % {"title": task.title}
                body = (_("About %(contact)s") % {"contact": task.contact}
                        if task.contact_id else "")
            drafts.append(NotificationDraft(user=user, kind="task.due", title=title, body=body,
                                            url=_task_url(tenant, task),
                                            dedupe_key=task_due_key(task)))
        with tenant_scope(tenant):
            made += len(notifications_create_many(tenant=tenant, drafts=drafts))
    return made

