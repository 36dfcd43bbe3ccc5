"""Isolation entries for journeys. The victim gets an active journey with its contact
enrolled, named with canaries."""

from tend.core.actors import Actor
from tend.core.tests.isolation import register, victim_builder
from tend.marketing.services.journeys import (
    journey_activate,
    journey_create,
    journey_enroll_many,
)

STEPS = [
    {"key": "trigger", "type": "TRIGGER", "next": "wait"},
    {"key": "wait", "type": "WAIT", "config": {"duration": "3 days"}, "next": "end"},
    {"key": "end", "type": "END"},
]


@victim_builder
def _journeys(v, c):
    system = Actor.system()
    v.journey = journey_create(tenant=v.tenant, actor=system, data={
        "name": c("journey name"), "description": c("journey description"), "steps": [
            {**STEPS[0], "name": c("trigger step name")}, STEPS[1], STEPS[2]]})
    journey_activate(tenant=v.tenant, actor=system, journey=v.journey)
    v.journey_draft = journey_create(tenant=v.tenant, actor=system, data={
        "name": c("draft journey")})
    v.enrollment = journey_enroll_many(tenant=v.tenant, actor=system, journey=v.journey,
                                       contact_ids=[v.people_contact.pk])[0]


one = {"path": lambda v: {"journey_id": v.journey.pk}}
STEPS_BODY = {"steps": STEPS}
register("GET", "/api/v1/journeys", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/journeys", targets_victim=False, body=lambda v: {"name": "Suite"})
register("GET", "/api/v1/journeys/{journey_id}", **one)
register("PATCH", "/api/v1/journeys/{journey_id}", **one,
         body=lambda v: {"description": "changed"})
register("PUT", "/api/v1/journeys/{journey_id}/steps", **one, body=lambda v: STEPS_BODY)
register("GET", "/api/v1/journeys/{journey_id}/sequence", **one)
register("PUT", "/api/v1/journeys/{journey_id}/sequence",
         path=lambda v: {"journey_id": v.journey_draft.pk},
         body=lambda v: {"items": [{"channel": "EMAIL", "template": "x", "after": "1 day"}]},
         control_status=(200, 422))
register("POST", "/api/v1/journeys/{journey_id}/validate", **one)
register("POST", "/api/v1/journeys/{journey_id}/activate",
         path=lambda v: {"journey_id": v.journey_draft.pk}, control_status=(200, 422))
register("POST", "/api/v1/journeys/{journey_id}/pause", **one)
register("POST", "/api/v1/journeys/{journey_id}/archive",
         path=lambda v: {"journey_id": v.journey_draft.pk})
register("GET", "/api/v1/journeys/{journey_id}/stats", **one)
register("GET", "/api/v1/journeys/{journey_id}/enrollments", **one)
register("POST", "/api/v1/journeys/{journey_id}/enrollments", **one,
         body=lambda v: {"contact_ids": [str(v.people_contact.pk)]})
register("GET", "/api/v1/journey-enrollments/{enrollment_id}",
         path=lambda v: {"enrollment_id": v.enrollment.pk})
register("POST", "/api/v1/journey-enrollments/{enrollment_id}/exit",
         path=lambda v: {"enrollment_id": v.enrollment.pk}, body=lambda v: {"reason": "x"})
register("GET", "/api/v1/contacts/{contact_id}/journeys",
         path=lambda v: {"contact_id": v.people_contact.pk})
