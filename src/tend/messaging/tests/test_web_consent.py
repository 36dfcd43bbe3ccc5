"""Marketing on the in-app (WEB) channel needs the person's consent on that channel, as on
every other channel; service messages do not."""

from __future__ import annotations

import pytest

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.messaging.choices import MessagePurpose
from tend.messaging.models import ChannelAccount, Message
from tend.messaging.outbox.worker import OutboxWorker
from tend.messaging.services.outbox import message_enqueue
from tend.people.models import Contact
from tend.people.services.consent import consent_set
from tend.people.tests.helpers_360 import make_contact

pytestmark = pytest.mark.django_db


def _queue(tenant, contact, purpose):
    with tenant_scope(tenant):
        message, _ = message_enqueue(tenant=tenant, actor=Actor.system(), contact=contact,
                                     channel="WEB", body="Spring retreat: places open",
                                     purpose=purpose)
    return message


def test_web_marketing_needs_web_consent(scoped):
    ChannelAccount.objects.create(tenant=scoped, kind="WEB", name="In-app", status="ACTIVE",
                                  is_default=True)
    without = make_contact(scoped, first_name="Huda")
    granted = make_contact(scoped, first_name="Sami")
    consent_set(tenant=scoped, actor=Actor.system(), contact=granted, channel="WEB",
                status="GRANTED")
    assert Contact.objects.get(pk=granted.pk).web_opt_in is True
    refused = _queue(scoped, without, MessagePurpose.MARKETING)
    allowed = _queue(scoped, granted, MessagePurpose.MARKETING)
    service = _queue(scoped, without, MessagePurpose.TRANSACTIONAL)
    OutboxWorker(worker_id="w-web").run_until_idle(timeout=30)
    with tenant_scope(scoped):
        got = {m.pk: (m.status, m.skip_reason) for m in Message.objects.all()}
    assert got[refused.pk] == ("SKIPPED", "no_consent")
    assert got[allowed.pk][0] == "DELIVERED"
    assert got[service.pk][0] == "DELIVERED"
