"""The automation ticks enqueue one task per active organization that has work."""

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.models import Tenant
from tend.core.tenancy import system_scope, tenant_scope
from tend.marketing.services.reminders import reminder_rule_create, reminder_rule_update
from tend.marketing.tasks_automation import reminders_tick

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


def _rule(tenant, name, *, active=True):
    with tenant_scope(tenant):
        rule = reminder_rule_create(tenant=tenant, actor=SYSTEM, data={
            "name": name, "type": "CONTACT_OVERDUE", "params": {"days": 30}})
        if not active:
            reminder_rule_update(tenant=tenant, actor=SYSTEM, rule=rule,
                                 data={"is_active": False})


def test_reminders_tick_enqueues_once_per_active_organization(
        tenant, make_tenant, django_capture_on_commit_callbacks):
    _rule(tenant, "Overdue")
    _rule(tenant, "Overdue again")
    quiet = make_tenant("Quiet Club", slug="quiet")
    _rule(quiet, "Switched off", active=False)
    closed = make_tenant("Closed Club", slug="closed")
    _rule(closed, "Overdue")
    with system_scope():
        Tenant.objects.filter(pk=closed.pk).update(is_active=False)
    with django_capture_on_commit_callbacks() as queued, system_scope():
        assert reminders_tick(timezone.now()) == 1
    assert len(queued) == 1
