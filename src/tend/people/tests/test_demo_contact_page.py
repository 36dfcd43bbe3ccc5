import random

from tend.core.demo import DemoContext, demo_loaders
from tend.people.demo_contact_page import load_contact_page_demo
from tend.people.models import Activity, Consent, Interaction, Note, Task
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


def _ctx(tenant, owner, staff):
    return DemoContext(tenant=tenant, owner=owner, actor=member_actor(tenant, owner),
                       password=None, rng=random.Random(7), staff=staff)


def test_loader_is_registered():
    assert load_contact_page_demo in demo_loaders()


def test_without_contacts_it_adds_nothing(scoped, owner):
    ctx = _ctx(scoped, owner, {})
    load_contact_page_demo(ctx)
    assert (Activity.objects.count(), Note.objects.count(), Task.objects.count()) == (0, 0, 0)
    assert ctx.notes == ["Contact page demo: no contacts to decorate."]


def test_decorates_the_demo_contacts(scoped, owner, make_user):
    agent = make_user("agent@demo.example")
    add_member(scoped, agent, "agent")
    contacts = [make_contact(scoped, first_name=f"P{i}") for i in range(6)]
    make_contact(scoped, first_name="Gone", status="MERGED")
    load_contact_page_demo(_ctx(scoped, owner, {"agent": agent}))
    types = set(Activity.objects.values_list("type", flat=True))
    assert {"EVENT_ATTENDED", "EMAIL_OPENED", "DONATION_RECEIVED", "TICKET_PURCHASED"} <= types
    assert Activity.objects.exclude(contact__in=contacts).count() == 0
    assert Task.objects.count() == 3
    assert set(Task.objects.values_list("assignee", flat=True)) <= {agent.pk, owner.pk}
    assert Interaction.objects.count() + Note.objects.count() > 0
    assert Consent.objects.count() > 0
    assert Consent.objects.filter(channel="WEB", status="GRANTED").exists()
    oldest = Activity.objects.order_by("occurred_at").first().occurred_at
    newest = Activity.objects.order_by("-occurred_at").first().occurred_at
    assert (newest - oldest).days >= 60
