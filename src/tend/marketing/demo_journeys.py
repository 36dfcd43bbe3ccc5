"""Demo journeys: a welcome journey with a wait, a condition and an A/B split, and a
follow-up sequence (Telegram after 24 h, SMS after 48 h, email after 72 h). They are
activated when the templates they send exist, and a few demo contacts are enrolled."""

from __future__ import annotations

from tend.core.demo import DemoContext
from tend.core.errors import ValidationFailed
from tend.marketing.models_journeys import Journey, JourneyKind, TriggerType
from tend.marketing.services.journeys import (
    journey_activate,
    journey_create,
    journey_enroll_many,
    journey_problems,
    sequence_steps,
)

WELCOME_STEPS = [
    {"key": "trigger", "type": "TRIGGER", "name": "Joined", "next": "wait"},
    {"key": "wait", "type": "WAIT", "name": "Give them a day", "config": {"duration": "1 day"},
     "next": "opted-in"},
    {"key": "opted-in", "type": "CONDITION", "name": "Email allowed?",
     "config": {"rules": [{"field": "consent.email", "operator": "equals",
                           "value": "GRANTED"}],
                "combinator": "AND"}, "yes": "split", "no": "tag"},
    {"key": "split", "type": "SPLIT", "name": "Subject line test",
     "config": {"variants": [{"name": "A", "weight": 50, "next": "send-a"},
                             {"name": "B", "weight": 50, "next": "send-b"}]}},
    {"key": "send-a", "type": "SEND", "name": "Welcome email (A)",
     "config": {"channel": "EMAIL", "templateId": "welcome"}, "next": "end"},
    {"key": "send-b", "type": "SEND", "name": "Welcome email (B)",
     "config": {"channel": "EMAIL", "templateId": "welcome"}, "next": "end"},
    {"key": "tag", "type": "UPDATE", "name": "Mark as lead",
     "config": {"action": "set_lifecycle", "value": "LEAD"}, "next": "end"},
    {"key": "end", "type": "END", "name": "Done"},
]

SEQUENCE = [
    {"channel": "TELEGRAM", "template": "follow-up", "after": "24 hours"},
    {"channel": "SMS", "template": "follow-up", "after": "48 hours"},
    {"channel": "EMAIL", "template": "follow-up", "after": "72 hours"},
]


def load_journeys_demo(ctx: DemoContext) -> None:
    from tend.people.models import Contact

    tenant, actor = ctx.tenant, ctx.actor
    if Journey.objects.filter(tenant=tenant).exists():
        return
    welcome = journey_create(tenant=tenant, actor=actor, data={
        "name": "New member welcome", "trigger_type": TriggerType.MANUAL,
        "description": "A day after joining: email those who allow it (two subject lines), "
                       "mark the others as leads.",
        "time_zone": tenant.time_zone or "UTC", "steps": WELCOME_STEPS})
    follow_up = journey_create(tenant=tenant, actor=actor, data={
        "name": "Trial follow-up", "kind": JourneyKind.SEQUENCE,
        "description": "Telegram after a day, SMS after two, email after three.",
        "steps": sequence_steps(SEQUENCE)})
    contacts = list(Contact.objects.filter(tenant=tenant, deleted_at__isnull=True)
                    .order_by("created_at").values_list("pk", flat=True)[:12])
    for journey in (welcome, follow_up):
        if journey_problems(tenant=tenant, journey=journey):
            ctx.notes.append(f"Journey “{journey.name}” stays a draft until its templates "
                             "are published.")
            continue
        try:
            journey_activate(tenant=tenant, actor=actor, journey=journey)
        except ValidationFailed:
            continue
        journey_enroll_many(tenant=tenant, actor=actor, journey=journey, contact_ids=contacts)
