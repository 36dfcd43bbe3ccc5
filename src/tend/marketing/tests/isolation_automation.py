"""Isolation entries for reminders, social posts and webhooks. The victim gets a reminder
rule and reminders for its owner, a social account (pointing at a closed local port) with a
draft, a scheduled and a disposable post, and a webhook with one delivery, named with
canaries."""

from datetime import timedelta

from django.utils import timezone

from tend.core.actors import Actor
from tend.core.crypto import encrypt
from tend.core.tests.isolation import register, victim_builder
from tend.marketing.models import (
    Reminder,
    SocialConnection,
    SocialPost,
    SocialPostStatus,
    SocialPostTarget,
    WebhookDelivery,
)
from tend.marketing.services.reminders import reminder_rule_create
from tend.marketing.services.webhooks_out import webhook_subscription_create

CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens, connecting fails at once


@victim_builder
def _automation(v, c):
    system = Actor.system()
    now = timezone.now()
    v.reminder_rule = reminder_rule_create(tenant=v.tenant, actor=system, data={
        "name": c("reminder rule"), "type": "CONTACT_OVERDUE", "params": {"days": 30}})

    def reminder(kind):
        return Reminder.objects.create(
            tenant=v.tenant, rule=v.reminder_rule, type=kind, contact=v.people_contact,
            recipient=v.owner, subject_key="isolation", due_at=now - timedelta(days=1),
            reason=c(f"{kind} reason"))

    v.reminder = reminder("ISO_VIEW")
    v.reminder_done = reminder("ISO_DONE")
    v.reminder_dismiss = reminder("ISO_DISMISS")
    v.reminder_snooze = reminder("ISO_SNOOZE")
    v.social_connection = SocialConnection.objects.create(
        tenant=v.tenant, platform="TWITTER", name=c("social account"),
        account_id=c("social account id"), access_token_encrypted=encrypt("victim-token"),
        settings={"api_base": CLOSED})

    def post(label, status=SocialPostStatus.DRAFT):
        p = SocialPost.objects.create(
            tenant=v.tenant, content=c(label), status=status,
            scheduled_at=now + timedelta(days=3), next_attempt_at=(
                now + timedelta(days=3) if status == SocialPostStatus.SCHEDULED else None))
        SocialPostTarget.objects.create(tenant=v.tenant, post=p, connection=v.social_connection)
        return p

    v.social_post = post("social draft")
    v.social_post_scheduled = post("social scheduled", SocialPostStatus.SCHEDULED)
    v.social_post_doomed = post("social doomed")
    v.social_post_schedulable = post("social schedulable")
    v.webhook, _secret = webhook_subscription_create(tenant=v.tenant, actor=system, data={
        "name": c("webhook name"), "url": CLOSED + "/" + c("webhook path"),
        "event_types": ["contact.created"]})
    v.webhook_delivery = WebhookDelivery.objects.create(
        tenant=v.tenant, subscription=v.webhook, event_id="0190a000-0000-7000-8000-000000000001",
        event_type="contact.created", payload={"data": {"name": c("webhook payload")}},
        status="FAILED")
    v.reminder_rule_doomed = reminder_rule_create(tenant=v.tenant, actor=system, data={
        "name": c("doomed rule"), "type": "FOLLOW_UP_DUE"})
    v.social_connection_doomed = SocialConnection.objects.create(
        tenant=v.tenant, platform="LINKEDIN", name=c("doomed account"),
        account_id="urn:li:person:doomed", settings={"api_base": CLOSED})
    v.webhook_doomed, _secret = webhook_subscription_create(tenant=v.tenant, actor=system, data={
        "name": c("doomed webhook"), "url": "https://example.org/doomed",
        "event_types": ["*"]})


# Reminders
register("GET", "/api/v1/reminders", targets_victim=False)
register("GET", "/api/v1/reminders/types", targets_victim=False)
register("GET", "/api/v1/reminders/settings", targets_victim=False)
register("PUT", "/api/v1/reminders/settings", targets_victim=False,
         body=lambda v: {"digest_hour": 7})
register("GET", "/api/v1/reminders/rules", targets_victim=False)
register("POST", "/api/v1/reminders/rules", targets_victim=False,
         body=lambda v: {"name": "Suite rule", "type": "FOLLOW_UP_DUE"})
rule = {"path": lambda v: {"rule_id": v.reminder_rule.pk}}
register("GET", "/api/v1/reminders/rules/{rule_id}", **rule)
register("PATCH", "/api/v1/reminders/rules/{rule_id}", **rule,
         body=lambda v: {"params": {"days": 45}})
register("POST", "/api/v1/reminders/rules/{rule_id}/run", **rule)
register("DELETE", "/api/v1/reminders/rules/{rule_id}",
         path=lambda v: {"rule_id": v.reminder_rule_doomed.pk})
register("GET", "/api/v1/reminders/{reminder_id}",
         path=lambda v: {"reminder_id": v.reminder.pk})
register("POST", "/api/v1/reminders/{reminder_id}/done",
         path=lambda v: {"reminder_id": v.reminder_done.pk})
register("POST", "/api/v1/reminders/{reminder_id}/dismiss",
         path=lambda v: {"reminder_id": v.reminder_dismiss.pk})
register("POST", "/api/v1/reminders/{reminder_id}/snooze",
         path=lambda v: {"reminder_id": v.reminder_snooze.pk},
         body=lambda v: {"until": (timezone.now() + timedelta(days=2)).isoformat()})

# Social posts
register("GET", "/api/v1/social/connections", targets_victim=False)
# Nothing answers at the given address: the platform cannot vouch for the token (422).
register("POST", "/api/v1/social/connections", targets_victim=False, control_status=(422,),
         body=lambda v: {"platform": "TWITTER", "access_token": "t", "api_base": CLOSED})
connection = {"path": lambda v: {"connection_id": v.social_connection.pk}}
register("GET", "/api/v1/social/connections/{connection_id}", **connection)
register("POST", "/api/v1/social/connections/{connection_id}/check", **connection)
register("POST", "/api/v1/social/connections/{connection_id}/disconnect",
         path=lambda v: {"connection_id": v.social_connection_doomed.pk})
register("GET", "/api/v1/social/posts", targets_victim=False)
register("GET", "/api/v1/social/calendar", targets_victim=False,
         query=lambda v: {"year": timezone.now().year, "month": timezone.now().month})
register("POST", "/api/v1/social/posts", targets_victim=False,
         body=lambda v: {"content": "Suite post"})
post = {"path": lambda v: {"post_id": v.social_post.pk}}
register("GET", "/api/v1/social/posts/{post_id}", **post)
register("PATCH", "/api/v1/social/posts/{post_id}", **post, body=lambda v: {"link": ""})
register("DELETE", "/api/v1/social/posts/{post_id}",
         path=lambda v: {"post_id": v.social_post_doomed.pk})
register("POST", "/api/v1/social/posts/{post_id}/schedule",
         path=lambda v: {"post_id": v.social_post_schedulable.pk},
         body=lambda v: {"at": (timezone.now() + timedelta(days=5)).isoformat()})
register("POST", "/api/v1/social/posts/{post_id}/unschedule",
         path=lambda v: {"post_id": v.social_post_scheduled.pk})

# Webhooks
register("GET", "/api/v1/webhooks", targets_victim=False)
register("GET", "/api/v1/webhooks/events", targets_victim=False)
register("POST", "/api/v1/webhooks", targets_victim=False,
         body=lambda v: {"name": "Suite", "url": "https://example.org/hook",
                         "event_types": ["contact.created"]})
hook = {"path": lambda v: {"subscription_id": v.webhook.pk}}
register("GET", "/api/v1/webhooks/{subscription_id}", **hook)
register("PATCH", "/api/v1/webhooks/{subscription_id}", **hook,
         body=lambda v: {"event_types": ["contact.created", "contact.updated"]})
register("POST", "/api/v1/webhooks/{subscription_id}/rotate-secret", **hook)
register("POST", "/api/v1/webhooks/{subscription_id}/test", **hook)
register("GET", "/api/v1/webhooks/{subscription_id}/deliveries", **hook)
register("DELETE", "/api/v1/webhooks/{subscription_id}",
         path=lambda v: {"subscription_id": v.webhook_doomed.pk})
register("POST", "/api/v1/webhooks/deliveries/{delivery_id}/redeliver",
         path=lambda v: {"delivery_id": v.webhook_delivery.pk})
