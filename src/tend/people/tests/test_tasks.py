from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Membership
from tend.people.models import Task
from tend.people.selectors.tasks import my_tasks, task_list
from tend.people.services.tasks import (
    task_complete,
    task_create,
    task_delete,
    task_reopen,
    task_update,
)
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


def test_create_and_complete_and_reopen(scoped, actor, owner):
    contact = make_contact(scoped)
    task = task_create(tenant=scoped, actor=actor, title="  Call back  ", assignee=owner,
                       contact=contact, priority="HIGH")
    assert (task.title, task.status, task.assignee, task.contact, task.priority) == (
        "Call back", "OPEN", owner, contact, "HIGH")
    task_complete(tenant=scoped, actor=actor, task=task)
    task.refresh_from_db()
    assert task.status == "DONE" and task.completed_at is not None
    task_reopen(tenant=scoped, actor=actor, task=task)
    task.refresh_from_db()
    assert (task.status, task.completed_at) == ("OPEN", None)
    assert list(AuditLog.objects.filter(entity_type="task").order_by("seq")
                .values_list("action", flat=True)) == [
        "task.created", "task.completed", "task.reopened"]


def test_assignee_must_be_a_current_member(scoped, actor, make_user, make_tenant):
    outsider = make_user("outsider@example.com")
    with pytest.raises(ValidationFailed) as err:
        task_create(tenant=scoped, actor=actor, title="x", assignee=outsider)
    assert list(err.value.fields) == ["assignee"]
    former = make_user("former@example.com")
    membership = add_member(scoped, former, "agent")
    Membership.objects.filter(pk=membership.pk).update(is_active=False)
    with pytest.raises(ValidationFailed):
        task_create(tenant=scoped, actor=actor, title="x", assignee=former)
    assert Task.objects.count() == 0


def test_bad_input(scoped, actor):
    with pytest.raises(ValidationFailed) as err:
        task_create(tenant=scoped, actor=actor, title="", priority="URGENT", due_at="tomorrow")
    assert sorted(err.value.fields) == ["due_at", "priority", "title"]


def test_update_only_given_fields(scoped, actor, owner, make_user):
    task = task_create(tenant=scoped, actor=actor, title="Send brochure")
    other = make_user("agent@example.com")
    add_member(scoped, other, "agent")
    due = timezone.now() + timedelta(days=2)
    task_update(tenant=scoped, actor=actor, task=task, assignee=other, due_at=due)
    task.refresh_from_db()
    assert (task.title, task.assignee, task.due_at) == ("Send brochure", other, due)
    task_update(tenant=scoped, actor=actor, task=task, due_at=None)
    task.refresh_from_db()
    assert task.due_at is None
    assert AuditLog.objects.filter(action="task.updated").count() == 2


def test_my_tasks_open_assigned_to_me_overdue_first(scoped, actor, owner, make_user):
    now = timezone.now()
    later = task_create(tenant=scoped, actor=actor, title="later", assignee=owner,
                        due_at=now + timedelta(days=3))
    undated = task_create(tenant=scoped, actor=actor, title="undated", assignee=owner)
    overdue = task_create(tenant=scoped, actor=actor, title="overdue", assignee=owner,
                          due_at=now - timedelta(days=1))
    done = task_create(tenant=scoped, actor=actor, title="done", assignee=owner)
    task_complete(tenant=scoped, actor=actor, task=done)
    task_create(tenant=scoped, actor=actor, title="nobody's")
    assert [t.title for t in my_tasks(tenant=scoped, user=owner)] == [
        "overdue", "later", "undated"]
    assert [t.pk for t in task_list(tenant=scoped, filters={"overdue": True})] == [overdue.pk]
    assert {t.pk for t in task_list(tenant=scoped, filters={"status": "OPEN"})} >= {
        later.pk, undated.pk}


def test_viewer_cannot_create_or_delete(scoped, actor, make_user):
    viewer = make_user("viewer@example.com")
    add_member(scoped, viewer, "viewer")
    viewer_actor = member_actor(scoped, viewer)
    with pytest.raises(PermissionDenied):
        task_create(tenant=scoped, actor=viewer_actor, title="x")
    task = task_create(tenant=scoped, actor=actor, title="x")
    with pytest.raises(PermissionDenied):
        task_delete(tenant=scoped, actor=viewer_actor, task=task)
    task_delete(tenant=scoped, actor=actor, task=task)
    assert Task.objects.count() == 0
