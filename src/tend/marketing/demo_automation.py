"""Demo automation: two reminder rules (overdue contacts, follow-ups) run once so the
reminders list is not empty, a month of planned social posts for the calendar, and a
switched-off webhook subscription showing the settings page."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tend.core.demo import DemoContext
from tend.marketing.models import ReminderRule

POSTS = [
    (-6, "Sunday medal results are in: congratulations to all our winners!",
     ["golf", "results"]),
    (2, "Junior academy starts next week. Places are limited: book now.", ["juniors"]),
    (5, "Greens are being hollow-tined on Monday; the course reopens Tuesday.", []),
    (12, "Club championship entries close Friday.", ["championship"]),
    (19, "Ladies' open day: bring a friend for a free round.", ["ladiesgolf", "openday"]),
]


def load_automation_demo(ctx: DemoContext) -> None:
    from tend.marketing.services.reminders import reminder_rule_create, reminders_generate
    from tend.marketing.services.social import social_post_create
    from tend.marketing.services.webhooks_out import webhook_subscription_create

    tenant, actor = ctx.tenant, ctx.actor
    if ReminderRule.objects.filter(tenant=tenant).exists():
        return
    reminder_rule_create(tenant=tenant, actor=actor, data={
        "name": "Members not contacted for 60 days", "type": "CONTACT_OVERDUE",
        "params": {"days": 60}, "recipients": ["owner"]})
    reminder_rule_create(tenant=tenant, actor=actor, data={
        "name": "Follow-ups due", "type": "FOLLOW_UP_DUE", "recipients": ["owner"]})
    reminders_generate(tenant=tenant)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for days, text, tags in POSTS:
        social_post_create(tenant=tenant, actor=actor, data={
            "content": text, "hashtags": tags,
            "scheduled_at": now.replace(hour=9) + timedelta(days=days)})
    _sub, _secret = webhook_subscription_create(tenant=tenant, actor=actor, data={
        "name": "Booking system", "url": "https://hooks.example.org/tend",
        "event_types": ["contact.created", "contact.updated", "activity.recorded"],
        "is_active": False})
    ctx.notes.append("Automation: reminder rules ran; social posts planned on the calendar.")
