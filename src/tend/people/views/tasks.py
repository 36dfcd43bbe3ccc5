""""My tasks": the open tasks assigned to me (overdue first) and my follow-ups due."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from tend.core.views.base import require_perm
from tend.people.selectors.interactions import follow_ups_due
from tend.people.selectors.tasks import my_tasks

FOLLOW_UP_HORIZON_DAYS = 7
MAX_ROWS = 200


@require_perm("tasks.view")
def tasks_mine(request: HttpRequest, org_slug: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    user = request.actor.acting_user  # type: ignore[attr-defined]
    now = timezone.now()
    tasks = list(my_tasks(tenant=tenant, user=user)[:MAX_ROWS])
    follow_ups = list(follow_ups_due(
        tenant=tenant, user=user,
        until=timezone.localdate() + timedelta(days=FOLLOW_UP_HORIZON_DAYS))[:MAX_ROWS])
    return render(request, "people/tasks_mine.html", {
        "tasks": tasks, "follow_ups": follow_ups, "now": now, "today": timezone.localdate(),
        "can_change": request.actor.has_perm("tasks.change"),  # type: ignore[attr-defined]
        "horizon": FOLLOW_UP_HORIZON_DAYS,
    })


urlpatterns = [
    path("o/<slug:org_slug>/people/tasks/", tasks_mine, name="tasks-mine"),
]
