"""Isolation entries for segments. The victim gets a static list holding its contact and a
dynamic segment, named with canaries."""

from tend.core.actors import Actor
from tend.core.tests.isolation import register, victim_builder
from tend.marketing.services.membership import segment_add_members
from tend.marketing.services.segments import segment_create


@victim_builder
def _segments(v, c):
    system = Actor.system()
    v.segment_list = segment_create(tenant=v.tenant, actor=system, data={
        "name": c("segment name"), "description": c("segment description")})
    segment_add_members(tenant=v.tenant, actor=system, segment=v.segment_list,
                        contact_ids=[v.people_contact.pk])
    v.segment_dynamic = segment_create(tenant=v.tenant, actor=system, data={
        "name": c("dynamic segment"), "type": "DYNAMIC",
        "rule": {"combinator": "and", "rules": [
            {"field": "segment", "operator": "equals", "value": str(v.segment_list.pk)}]}})


RULE = {"combinator": "and", "rules": [{"field": "city", "operator": "isNotEmpty"}]}

register("GET", "/api/v1/segments", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/segments", targets_victim=False, body=lambda v: {"name": "Suite"})
register("POST", "/api/v1/segments/rule/validate", targets_victim=False,
         body=lambda v: {"rule": RULE})
register("POST", "/api/v1/segments/rule/count", targets_victim=False,
         body=lambda v: {"rule": RULE})
one = {"path": lambda v: {"segment_id": v.segment_list.pk}}
register("GET", "/api/v1/segments/{segment_id}", **one)
register("PATCH", "/api/v1/segments/{segment_id}", **one,
         body=lambda v: {"description": "changed"})
register("DELETE", "/api/v1/segments/{segment_id}",
         path=lambda v: {"segment_id": v.segment_dynamic.pk})
register("GET", "/api/v1/segments/{segment_id}/members", **one)
register("POST", "/api/v1/segments/{segment_id}/members", **one,
         body=lambda v: {"contact_ids": [str(v.people_contact.pk)]})
register("POST", "/api/v1/segments/{segment_id}/members/remove", **one,
         body=lambda v: {"contact_ids": [str(v.people_contact.pk)]})
register("POST", "/api/v1/segments/{segment_id}/refresh",
         path=lambda v: {"segment_id": v.segment_dynamic.pk})
register("GET", "/api/v1/segments/{segment_id}/refreshes",
         path=lambda v: {"segment_id": v.segment_dynamic.pk})
register("GET", "/api/v1/segments/{segment_id}/history", **one)
register("GET", "/api/v1/contacts/{contact_id}/segments",
         path=lambda v: {"contact_id": v.people_contact.pk})
