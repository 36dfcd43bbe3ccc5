"""Demo data for ingestion: a "Booking system" source and a few deliveries it made."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tend.core.demo import DemoContext
from tend.people.models import Contact
from tend.people.services.ingestion import activities_ingest
from tend.people.services.sources import source_actor, source_create


def load_ingestion_demo(ctx: DemoContext) -> None:
    """One source with logged deliveries: bookings of existing contacts, a booking by a new
    person (a contact is created), a redelivered event and an item with a bad email."""
    source, _secret = source_create(tenant=ctx.tenant, actor=ctx.actor, name="Booking system")
    emails = list(
        Contact.objects.filter(tenant=ctx.tenant).exclude(primary_email="")
        .order_by("created_at").values_list("primary_email", flat=True)[:3]
    )
    now = timezone.now()
    rooms = ["Court 1", "Court 2", "Studio A"]
    items: list[dict[str, object]] = []
    for number, email in enumerate([*emails, "new.member@example.com"], start=1):
        items.append({
            "identifiers": [{"type": "EMAIL", "value": email}],
            "contact": {"first_name": "Noor", "last_name": "Haddad"}
            if email == "new.member@example.com" else {},
            "type": "BOOKING_CONFIRMED", "category": "BOOKING", "channel": "web",
            "title": f"Booked {rooms[number % len(rooms)]}",
            "metadata": {"booking": f"B-{1000 + number}", "room": rooms[number % len(rooms)]},
            "occurred_at": (now - timedelta(days=number * 3, hours=2)).isoformat(),
            "source_event_id": f"booking-{1000 + number}",
        })
    items.append({"identifiers": [{"type": "EMAIL", "value": "not-an-email"}],
                  "type": "BOOKING_CONFIRMED", "source_event_id": "booking-bad-1"})
    actor = source_actor(source)
    activities_ingest(tenant=ctx.tenant, actor=actor, items=items, source=source)
    # The booking system retried its first delivery: logged as a second attempt, no new row.
    activities_ingest(tenant=ctx.tenant, actor=actor, items=items[:1], source=source)
