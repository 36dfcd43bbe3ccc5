"""Demo data for the contact page: notes, interactions with follow-ups, tasks for the demo
staff, consent, and six months of varied activity on the demo contacts.

Runs after the contacts loader (order 100) and works on whatever live contacts it made; with
no contacts it adds nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tend.core.actors import Actor
from tend.core.demo import DemoContext
from tend.people.choices import ContactStatus
from tend.people.models import Contact
from tend.people.services.activities import activity_record
from tend.people.services.consent import consent_set
from tend.people.services.interactions import interaction_log
from tend.people.services.notes import note_create, note_pin
from tend.people.services.tasks import task_complete, task_create

MAX_CONTACTS = 30

NOTES = [
    ("GENERAL", "Prefers **morning** calls. Speaks English and Arabic."),
    ("FEEDBACK", "Loved the spring retreat; asked for more *silent* sessions."),
    ("SUPPORT", "Had trouble paying online:\n\n- card declined twice\n- paid by transfer"),
    ("SALES", "Interested in the annual membership. Budget decision in June."),
    ("FOLLOWUP", "Send the programme for the autumn course when it is published."),
    ("COMPLAINT", "Parking at the venue was full; offered a voucher."),
]
INTERACTIONS = [
    ("PHONE", "OUTBOUND", "Welcome call after sign-up", "Booked an intro session"),
    ("WHATSAPP", "INBOUND", "Asked about the retreat dates and prices", "Sent the brochure"),
    ("IN_PERSON", "INBOUND", "Chatted after the Thursday meeting", "Wants to volunteer"),
    ("EMAIL", "OUTBOUND", "Followed up on the unpaid invoice", "Promised to pay this week"),
    ("TELEGRAM", "INBOUND", "Shared feedback on the course app", "Logged two bugs"),
]
TASKS = [
    "Call back about the membership renewal",
    "Send the retreat brochure",
    "Check the payment arrived",
    "Invite to the volunteer evening",
    "Prepare the welcome pack",
]
# (type, category, channel, title, metadata)
ACTIVITIES: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("EVENT_ATTENDED", "EVENTS", "", "Attended the Thursday meditation", {"event": "Thursday"}),
    ("EVENT_REGISTERED", "EVENTS", "WEB", "Registered for the spring retreat", {}),
    ("EMAIL_OPENED", "MARKETING", "EMAIL", "Opened “March newsletter”", {"campaign": "march"}),
    ("EMAIL_CLICKED", "MARKETING", "EMAIL", "Clicked the retreat link", {"campaign": "march"}),
    ("DONATION_RECEIVED", "FINANCIAL", "WEB", "Donated 25.00 EUR",
     {"amount_minor": 2500, "currency": "EUR"}),
    ("TICKET_PURCHASED", "EVENTS", "WEB", "Bought a ticket: Summer gathering",
     {"ticket_type": "Standard"}),
    ("MESSAGE_RECEIVED", "COMMUNICATION", "TELEGRAM", "Sent a message on Telegram", {}),
    ("LESSON_COMPLETED", "COMMUNITY", "", "Completed lesson 3 of the foundation course",
     {"lesson": 3}),
    ("PAYMENT_RECEIVED", "FINANCIAL", "WEB", "Paid the monthly membership",
     {"amount_minor": 3000, "currency": "EUR"}),
    ("SURVEY_ANSWERED", "ENGAGEMENT", "WHATSAPP", "Answered the satisfaction survey",
     {"score": 9}),
]


def load_contact_page_demo(ctx: DemoContext) -> None:
    tenant, actor, rng = ctx.tenant, ctx.actor, ctx.rng
    contacts = list(Contact.objects.filter(
        tenant=tenant, status=ContactStatus.ACTIVE, deleted_at__isnull=True,
    ).order_by("created_at", "id")[:MAX_CONTACTS])
    if not contacts:
        ctx.notes.append("Contact page demo: no contacts to decorate.")
        return
    staff = [u for key, u in sorted(ctx.staff.items()) if key in ("admin", "manager", "agent")]
    # The owner gets some too, so "My tasks" is not empty for whoever opens the demo.
    assignees = [*staff, ctx.owner]
    now = timezone.now()
    system = Actor.system()
    counts = {"notes": 0, "interactions": 0, "tasks": 0, "activities": 0}

    for index, contact in enumerate(contacts):
        # Six months of activity, oldest first so metrics end on the newest.
        moments = sorted(now - timedelta(days=rng.uniform(1, 180))
                         for _ in range(rng.randint(4, 12)))
        for moment in moments:
            type_, category, channel, title, metadata = rng.choice(ACTIVITIES)
            activity_record(tenant=tenant, actor=system, contact=contact, type=type_,
                            category=category, channel=channel, title=title,
                            metadata=dict(metadata), source="demo", occurred_at=moment)
            counts["activities"] += 1
        for _ in range(rng.randint(0, 2)):
            kind, body = rng.choice(NOTES)
            note = note_create(tenant=tenant, actor=actor, contact=contact, body=body,
                               type=kind, is_private=rng.random() < 0.15)
            if rng.random() < 0.3:
                note_pin(tenant=tenant, actor=actor, note=note)
            counts["notes"] += 1
        for _ in range(rng.randint(0, 2)):
            channel, direction, summary, outcome = rng.choice(INTERACTIONS)
            follow_up = (timezone.localdate() + timedelta(days=rng.randint(-3, 14))
                         if rng.random() < 0.5 else None)
            interaction_log(tenant=tenant, actor=actor, contact=contact, channel=channel,
                            direction=direction, summary=summary, outcome=outcome,
                            follow_up_on=follow_up,
                            occurred_at=now - timedelta(days=rng.uniform(0, 60)))
            counts["interactions"] += 1
        if index % 2 == 0:
            task = task_create(tenant=tenant, actor=actor, title=rng.choice(TASKS),
                               assignee=rng.choice(assignees), contact=contact,
                               priority=rng.choice(["LOW", "NORMAL", "NORMAL", "HIGH"]),
                               due_at=now + timedelta(days=rng.randint(-5, 20)))
            if rng.random() < 0.2:
                task_complete(tenant=tenant, actor=actor, task=task)
            counts["tasks"] += 1
        for channel in ("EMAIL", "SMS", "WHATSAPP"):
            if rng.random() < 0.6:
                consent_set(tenant=tenant, actor=actor, contact=contact, channel=channel,
                            purpose="MARKETING", status="GRANTED", source="Sign-up form")
                if rng.random() < 0.15:
                    consent_set(tenant=tenant, actor=actor, contact=contact, channel=channel,
                                purpose="MARKETING", status="REVOKED",
                                source="Unsubscribe link")
        # In-app news: two in three people agreed when they signed in to the member area.
        if index % 3 != 2:
            consent_set(tenant=tenant, actor=actor, contact=contact, channel="WEB",
                        purpose="MARKETING", status="GRANTED", source="Member area")
    ctx.notes.append(
        "Contact page demo: {activities} activities, {notes} notes, {interactions} "
        "interactions, {tasks} tasks.".format(**counts))
