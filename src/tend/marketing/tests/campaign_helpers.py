"""Helpers of the campaign tests: an audience with consent and addresses, channel accounts."""

from __future__ import annotations

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.marketing.services.membership import segment_add_members
from tend.marketing.services.segments import segment_create
from tend.messaging.models import ChannelAccount
from tend.people.models import Contact
from tend.people.services.contacts import contact_create

SYSTEM = Actor.system()


def account(tenant, kind="EMAIL", name=None):
    with tenant_scope(tenant):
        return ChannelAccount.objects.create(tenant=tenant, kind=kind, name=name or kind.title(),
                                             status="ACTIVE", is_default=True)


def person(tenant, first, *, email=True, phone=False, opt_in=True, **fields):
    with tenant_scope(tenant):
        contact = contact_create(
            tenant=tenant, actor=SYSTEM, data={"first_name": first, "last_name": "Test",
                                               **fields},
            emails=[f"{first.lower()}@example.net"] if email else [],
            phones=["+9715012" + str(abs(hash(first)) % 100000).zfill(5)] if phone else [])
        if opt_in:
            Contact.objects.filter(pk=contact.pk).update(email_opt_in=True, sms_opt_in=True,
                                                         whatsapp_opt_in=True, web_opt_in=True)
            contact.refresh_from_db()
        return contact


def segment_of(tenant, name, contacts):
    with tenant_scope(tenant):
        segment = segment_create(tenant=tenant, actor=SYSTEM, data={"name": name})
        segment_add_members(tenant=tenant, actor=SYSTEM, segment=segment,
                            contact_ids=[c.pk for c in contacts])
        return segment
