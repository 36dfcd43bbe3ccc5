"""The inbox demo: conversations in English and Arabic on the in-app account, with replies,
one assigned and one resolved."""

import random

import pytest

from tend.core.demo import DemoContext, demo_loaders
from tend.messaging.choices import ConversationStatus
from tend.messaging.demo_inbox import load_inbox_demo
from tend.messaging.models import ChannelAccount, Conversation, Message
from tend.people.models import Contact
from tend.people.tests.helpers_360 import add_member, member_actor

pytestmark = pytest.mark.django_db


def _ctx(tenant, owner, staff):
    return DemoContext(tenant=tenant, owner=owner, actor=member_actor(tenant, owner),
                       password=None, rng=random.Random(7), staff=staff)


def test_loader_is_registered():
    assert load_inbox_demo in demo_loaders()


def test_makes_conversations_in_both_languages(scoped, owner, make_user):
    agent = make_user("agent@demo.example")
    add_member(scoped, agent, "agent")
    people = [("Amal", "en"), ("Badr", "en"), ("Carla", "en"), ("سالم", "ar"), ("ليلى", "ar")]
    for i, (name, language) in enumerate(people):
        Contact.objects.create(tenant=scoped, first_name=name, display_name=f"{name} {i}",
                               language=language)
    load_inbox_demo(_ctx(scoped, owner, {"agent": agent}))
    account = ChannelAccount.objects.get(tenant=scoped, kind="WEB")
    assert account.name == "Website chat"
    conversations = list(Conversation.objects.filter(tenant=scoped))
    assert len(conversations) == 5
    assert sum(c.assignee_id == agent.pk for c in conversations) == 1
    assert sum(c.status == ConversationStatus.RESOLVED for c in conversations) == 1
    bodies = list(Message.objects.filter(tenant=scoped).values_list("direction", "body"))
    assert any(d == "OUTBOUND" and "السابعة" in b for d, b in bodies)
    assert any(d == "INBOUND" and "course" in b for d, b in bodies)
    # Loading again adds nothing.
    load_inbox_demo(_ctx(scoped, owner, {"agent": agent}))
    assert Conversation.objects.filter(tenant=scoped).count() == 5
