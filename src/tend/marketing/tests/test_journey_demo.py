"""The demo journeys load into an organization (drafts while their templates are missing)."""

import random

import pytest

from tend.core.actors import Actor
from tend.core.demo import DemoContext
from tend.core.tenancy import tenant_scope
from tend.marketing.demo_journeys import load_journeys_demo
from tend.marketing.models_journeys import Journey

pytestmark = pytest.mark.django_db


def test_demo_journeys_load(tenant, owner):
    ctx = DemoContext(tenant=tenant, owner=owner, actor=Actor.system(), password=None,
                      rng=random.Random(1))
    with tenant_scope(tenant):
        load_journeys_demo(ctx)
        load_journeys_demo(ctx)  # a second run adds nothing
        journeys = sorted(Journey.objects.values_list("name", "kind"))
    assert journeys == [("New member welcome", "JOURNEY"), ("Trial follow-up", "SEQUENCE")]
