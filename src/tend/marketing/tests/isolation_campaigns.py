"""Isolation entries for campaigns and event promotion. The victim gets an email account, a
list holding its contact, a draft, a scheduled and a paused campaign, and two dated items
(one promoted), named with canaries."""

from datetime import timedelta

from django.utils import timezone

from tend.core.actors import Actor
from tend.core.tests.isolation import register, victim_builder
from tend.marketing.services import campaigns as svc
from tend.marketing.services.membership import segment_add_members
from tend.marketing.services.promotion import promoted_item_create, promotion_create
from tend.marketing.services.segments import segment_create
from tend.messaging.models import ChannelAccount

EMAIL = [{"channel": "EMAIL", "subject": "Hello", "body": "Hi {{ contact.first_name }}"}]


@victim_builder
def _campaigns(v, c):
    system = Actor.system()
    ChannelAccount.objects.create(tenant=v.tenant, kind="EMAIL", name=c("email account"),
                                  status="ACTIVE", is_default=True)
    v.campaign_segment = segment_create(tenant=v.tenant, actor=system, data={
        "name": c("campaign list")})
    segment_add_members(tenant=v.tenant, actor=system, segment=v.campaign_segment,
                        contact_ids=[v.people_contact.pk])
    later = timezone.now() + timedelta(days=3)

    def campaign(label):
        return svc.campaign_create(tenant=v.tenant, actor=system, data={
            "name": c(label), "description": c(f"{label} description"),
            "segment_ids": [str(v.campaign_segment.pk)], "scheduled_at": later,
            "channels": [{**EMAIL[0],
                          "body": c(label + " body") + " {{ contact.first_name }}"}]})

    v.campaign_draft = campaign("draft campaign")
    v.campaign_scheduled = campaign("scheduled campaign")
    svc.campaign_launch(tenant=v.tenant, actor=system, campaign=v.campaign_scheduled)
    v.campaign_paused = campaign("paused campaign")
    svc.campaign_launch(tenant=v.tenant, actor=system, campaign=v.campaign_paused)
    svc.campaign_pause(tenant=v.tenant, actor=system, campaign=v.campaign_paused)
    v.campaign_item = promoted_item_create(tenant=v.tenant, actor=system, data={
        "title": c("promoted item"), "starts_at": timezone.now() + timedelta(days=30)})
    v.campaign_item_free = promoted_item_create(tenant=v.tenant, actor=system, data={
        "title": c("free item"), "starts_at": timezone.now() + timedelta(days=20)})
    v.campaign_promotion = promotion_create(
        tenant=v.tenant, actor=system, item_type="marketing.item",
        item_id=str(v.campaign_item.pk),
        data={"segment_ids": [str(v.campaign_segment.pk)], "channels": EMAIL})


register("GET", "/api/v1/campaigns", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/campaigns", targets_victim=False, body=lambda v: {"name": "Suite"})
# Naming the victim's segments is a field error (422) for anyone else.
register("POST", "/api/v1/campaigns/audience", targets_victim=False,
         body=lambda v: {"segment_ids": [str(v.campaign_segment.pk)], "channels": EMAIL})
register("POST", "/api/v1/campaigns/preview", targets_victim=False,
         body=lambda v: {"channel": EMAIL[0], "contact_id": str(v.people_contact.pk)})
draft = {"path": lambda v: {"campaign_id": v.campaign_draft.pk}}
register("GET", "/api/v1/campaigns/{campaign_id}", **draft)
register("PATCH", "/api/v1/campaigns/{campaign_id}", **draft,
         body=lambda v: {"description": "changed"})
register("DELETE", "/api/v1/campaigns/{campaign_id}", **draft)
register("POST", "/api/v1/campaigns/{campaign_id}/launch", **draft)
register("GET", "/api/v1/campaigns/{campaign_id}/report", **draft)
register("GET", "/api/v1/campaigns/{campaign_id}/runs", **draft)
register("GET", "/api/v1/campaigns/{campaign_id}/interactions", **draft)
scheduled = {"path": lambda v: {"campaign_id": v.campaign_scheduled.pk}}
register("POST", "/api/v1/campaigns/{campaign_id}/pause", **scheduled)
register("POST", "/api/v1/campaigns/{campaign_id}/cancel", **scheduled, body=lambda v: {})
register("POST", "/api/v1/campaigns/{campaign_id}/resume",
         path=lambda v: {"campaign_id": v.campaign_paused.pk})

register("GET", "/api/v1/promoted-items", targets_victim=False, query=lambda v: {"limit": 5})
register("POST", "/api/v1/promoted-items", targets_victim=False,
         body=lambda v: {"title": "Suite", "starts_at": "2030-01-01T10:00:00Z"})
register("PATCH", "/api/v1/promoted-items/{item_id}",
         path=lambda v: {"item_id": v.campaign_item.pk}, body=lambda v: {"place": "Hall"})
register("GET", "/api/v1/promotions", targets_victim=False)
register("POST", "/api/v1/promotions", targets_victim=False,
         body=lambda v: {"item_id": str(v.campaign_item_free.pk),
                         "segment_ids": [str(v.campaign_segment.pk)], "channels": EMAIL})
promotion = {"path": lambda v: {"promotion_id": v.campaign_promotion.pk}}
register("GET", "/api/v1/promotions/{promotion_id}", **promotion)
register("POST", "/api/v1/promotions/{promotion_id}/stop", **promotion)
