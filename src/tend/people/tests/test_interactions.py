from datetime import date, timedelta

import pytest
from django.utils import timezone

from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog
from tend.people.models import Activity, Interaction
from tend.people.selectors.interactions import follow_ups_due, interaction_list
from tend.people.services.interactions import interaction_log
from tend.people.signals import interaction_logged
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


@pytest.fixture
def contact(tenant):
    return make_contact(tenant)


def test_log_writes_interaction_activity_and_moves_last_contacted(scoped, actor, contact, owner):
    heard = []

    def listener(sender, tenant, interaction, actor, **kwargs):
        heard.append((tenant.pk, interaction.pk, Interaction.objects.filter(
            pk=interaction.pk).exists()))

    interaction_logged.connect(listener)
    try:
        when = timezone.now() - timedelta(hours=2)
        interaction = interaction_log(
            tenant=scoped, actor=actor, contact=contact, channel="PHONE", direction="INBOUND",
            summary="Asked about the retreat", outcome="Will register", flags=["warm", "warm"],
            follow_up_on=date(2030, 1, 5), occurred_at=when)
    finally:
        interaction_logged.disconnect(listener)
    assert heard == [(scoped.pk, interaction.pk, True)]
    assert (interaction.staff, interaction.flags) == (owner, ["warm"])
    contact.refresh_from_db()
    assert contact.last_contacted_at == when
    activity = Activity.objects.get(contact=contact)
    assert (activity.type, activity.category, activity.channel, activity.title,
            activity.description, activity.occurred_at, activity.metadata) == (
        "INTERACTION_LOGGED", "COMMUNICATION", "PHONE", "Phone", "Asked about the retreat", when,
        {"direction": "INBOUND", "outcome": "Will register", "flags": ["warm"],
         "follow_up_on": "2030-01-05"})
    assert AuditLog.objects.filter(action="interaction.logged",
                                   entity_id=str(interaction.pk)).count() == 1


def test_older_interaction_does_not_rewind_last_contacted(scoped, actor, contact):
    now = timezone.now()
    interaction_log(tenant=scoped, actor=actor, contact=contact, channel="EMAIL", summary="a",
                    occurred_at=now - timedelta(minutes=1))
    interaction_log(tenant=scoped, actor=actor, contact=contact, channel="EMAIL", summary="b",
                    occurred_at=now - timedelta(days=3))
    contact.refresh_from_db()
    assert contact.last_contacted_at == now - timedelta(minutes=1)
    assert [i.summary for i in interaction_list(tenant=scoped, contact=contact)] == ["a", "b"]


def test_bad_input_gives_field_errors(scoped, actor, contact):
    with pytest.raises(ValidationFailed) as err:
        interaction_log(tenant=scoped, actor=actor, contact=contact, channel="FAX",
                        direction="SIDEWAYS", summary="", flags="x",
                        occurred_at=timezone.now() + timedelta(days=1))
    assert sorted(err.value.fields) == ["channel", "direction", "flags", "occurred_at",
                                        "summary"]
    assert Interaction.objects.count() == 0


def test_viewer_cannot_log(scoped, tenant, make_user, contact):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        interaction_log(tenant=scoped, actor=member_actor(tenant, viewer), contact=contact,
                        channel="PHONE", summary="x")


def test_follow_ups_due(scoped, actor, contact, owner):
    today = timezone.localdate()
    due = interaction_log(tenant=scoped, actor=actor, contact=contact, channel="PHONE",
                          summary="due", follow_up_on=today)
    interaction_log(tenant=scoped, actor=actor, contact=contact, channel="PHONE",
                    summary="later", follow_up_on=today + timedelta(days=30))
    assert [i.pk for i in follow_ups_due(tenant=scoped, user=owner, until=today)] == [due.pk]
