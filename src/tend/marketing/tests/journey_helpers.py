"""Helpers for the journey tests: published templates and journeys built from step lists."""

from __future__ import annotations

from typing import Any

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.marketing.models_journeys import Journey
from tend.marketing.services.journeys import journey_activate, journey_create

SYSTEM = Actor.system()


def publish_template(tenant, key: str = "hello", channel: str = "EMAIL",
                     body: str = "Hello {{ contact.first_name }}", subject: str = "Hi") -> Any:
    from tend.messaging.services.templates import template_create, template_publish

    with tenant_scope(tenant):
        template = template_create(tenant=tenant, actor=SYSTEM, key=key, channel=channel,
                                   language="en", body=body,
                                   subject=subject if channel == "EMAIL" else "")
        return template_publish(tenant=tenant, actor=SYSTEM, template=template)


def step(key: str, type_: str, nxt: str = "", **config: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"key": key, "type": type_, "next": nxt, "config": config}
    for branch in ("yes", "no"):
        if branch in config:
            item[branch] = config.pop(branch)
    return item


def linear_steps(*, wait: str = "1 day", template: str = "hello") -> list[dict[str, Any]]:
    """TRIGGER → SEND → WAIT → SEND → END."""
    return [step("trigger", "TRIGGER", "first"),
            step("first", "SEND", "wait", channel="EMAIL", templateId=template),
            step("wait", "WAIT", "second", duration=wait),
            step("second", "SEND", "end", channel="EMAIL", templateId=template),
            step("end", "END")]


def make_journey(tenant, steps: list[dict[str, Any]], *, name: str = "Welcome",
                 activate: bool = True, **fields: Any) -> Journey:
    with tenant_scope(tenant):
        journey = journey_create(tenant=tenant, actor=SYSTEM,
                                 data={"name": name, "steps": steps, **fields})
        if activate:
            journey = journey_activate(tenant=tenant, actor=SYSTEM, journey=journey)
        return journey
