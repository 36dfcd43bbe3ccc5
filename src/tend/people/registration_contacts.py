"""What the contacts area contributes to the core registries: the demo contacts."""

from __future__ import annotations

from tend.core.demo import register_demo


def register() -> None:
    from tend.people.demo_contacts import load_contacts_demo

    register_demo(load_contacts_demo, order=100)
