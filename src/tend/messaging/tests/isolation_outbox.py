"""Isolation entries for the outbox. The victim gets a dead-lettered message (body and error
named with canaries) on an account of its own."""

from django.utils import timezone

from tend.core.tests.isolation import register, victim_builder
from tend.messaging.models import ChannelAccount, Message
from tend.people.models import Contact


@victim_builder
def _outbox(v, c):
    account = ChannelAccount.objects.create(tenant=v.tenant, kind="SMS", name=c("outbox account"),
                                            status="ACTIVE")
    contact = Contact.objects.create(tenant=v.tenant, first_name=c("outbox contact"))
    v.outbox_message = Message.objects.create(
        tenant=v.tenant, contact=contact, account=account, channel="SMS", direction="OUTBOUND",
        status="DEAD", to_address="+971500000999", body=c("outbox body"), attempts=8,
        error_code="http_503", error=c("outbox error"), failed_at=timezone.now())


register("GET", "/api/v1/outbox/stats", targets_victim=False)
register("GET", "/api/v1/outbox/dead-letters", targets_victim=False)
register("GET", "/api/v1/outbox/quiet-hours", targets_victim=False)
register("PUT", "/api/v1/outbox/quiet-hours", targets_victim=False,
         body=lambda v: {"start": "22:00", "end": "07:00"})
# The victim's ids in a bulk body are not found in the caller's organization: count 0.
register("POST", "/api/v1/outbox/retry", targets_victim=False,
         body=lambda v: {"ids": [str(v.outbox_message.pk)]})
register("POST", "/api/v1/outbox/discard", targets_victim=False,
         body=lambda v: {"ids": [str(v.outbox_message.pk)]})
message = {"path": lambda v: {"message_id": v.outbox_message.pk}}
register("GET", "/api/v1/outbox/messages/{message_id}", **message)
register("POST", "/api/v1/outbox/messages/{message_id}/retry", **message)
register("POST", "/api/v1/outbox/messages/{message_id}/discard", **message)
