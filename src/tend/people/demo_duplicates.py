"""Demo data for duplicates: a few people entered twice, and a detection run so the review
page has pairs to show."""

from __future__ import annotations

from typing import Any

from tend.core.demo import DemoContext
from tend.people.services.contacts import contact_create
from tend.people.services.duplicates import duplicates_detect

PAIRS: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ({"first_name": "Layla", "last_name": "Haddad", "city": "Dubai"},
     {"emails": ["layla.haddad@gmail.com"]},
     {"first_name": "Laila", "last_name": "Haddad", "city": "Dubai"},
     {"emails": ["LaylaHaddad+events@Gmail.com"]}),
    ({"first_name": "Omar", "last_name": "Farouk", "city": "Abu Dhabi"},
     {"phones": ["+971501234567"]},
     {"first_name": "Omar", "last_name": "Farouq", "city": "Abu Dhabi"},
     {"aliases": [{"type": "WHATSAPP", "value": "+971501234567"}]}),
    ({"first_name": "Sarah", "last_name": "Mitchell", "city": "London"},
     {"emails": ["sarah.mitchell@example.org"]},
     {"first_name": "Sara", "last_name": "Mitchell", "city": "London"},
     {"emails": ["s.mitchell@example.net"]}),
]


def load_duplicates_demo(ctx: DemoContext) -> None:
    for first, first_ids, second, second_ids in PAIRS:
        for data, ids in ((first, first_ids), (second, second_ids)):
            contact_create(tenant=ctx.tenant, actor=ctx.actor,
                           data={**data, "source": "demo"}, **ids)
    result = duplicates_detect(tenant=ctx.tenant)
    ctx.notes.append(f"Duplicates: {result['candidates']} likely pairs to review.")
