"""The daily refresh of contacts' 30/90-day activity counts."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tend.core.actors import Actor
from tend.core.periodic import periodic_jobs, tick
from tend.core.tenancy import tenant_scope
from tend.people.models import Contact
from tend.people.services.activities import activity_record
from tend.people.services.metrics import activity_counts_refresh


def _contact(tenant, name, ages_in_days):
    contact = Contact.objects.create(tenant=tenant, first_name=name, display_name=name)
    now = timezone.now()
    for age in ages_in_days:
        activity_record(tenant=tenant, actor=Actor.system(), contact=contact, type="VISIT",
                        occurred_at=now - timedelta(days=age))
    return contact


def test_counts_decay_as_activities_age(scoped, django_assert_num_queries):
    recent = _contact(scoped, "Recent", [1, 20, 50])
    old = _contact(scoped, "Old", [85])
    idle = _contact(scoped, "Idle", [])
    assert sorted(Contact.objects.values_list("display_name", "activity_count_30d",
                                              "activity_count_90d")) == [
        ("Idle", 0, 0), ("Old", 0, 1), ("Recent", 2, 3)]
    later = timezone.now() + timedelta(days=15)
    with django_assert_num_queries(1):
        touched = activity_counts_refresh(tenant=scoped, now=later)
    assert touched == 2  # the idle contact is not rewritten
    assert sorted(Contact.objects.values_list("display_name", "activity_count_30d",
                                              "activity_count_90d")) == [
        ("Idle", 0, 0), ("Old", 0, 0), ("Recent", 1, 3)]
    # Idempotent; and a contact already at zero is left alone next time.
    assert activity_counts_refresh(tenant=scoped, now=later) == 1
    assert {c.pk for c in (recent, old, idle)} == set(Contact.objects.values_list("pk",
                                                                                 flat=True))


def test_the_daily_job_refreshes_every_organization(tenant, make_tenant):
    other = make_tenant("Other Club", slug="other")
    for org in (tenant, other):
        with tenant_scope(org):
            contact = _contact(org, "C", [10])
            # Simulate a drifted counter.
            Contact.objects.filter(pk=contact.pk).update(activity_count_30d=7,
                                                         activity_count_90d=9)
    job = next(p for p in periodic_jobs() if p.name == "people.refresh_activity_counts")
    assert job.interval == timedelta(days=1)
    runs = [r for r in tick("test-worker") if r.name == "people.refresh_activity_counts"]
    assert [r.ok for r in runs] == [True]
    for org in (tenant, other):
        with tenant_scope(org):
            assert list(Contact.objects.values_list("activity_count_30d",
                                                    "activity_count_90d")) == [(1, 1)]
