import pytest

from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog
from tend.people.models import Activity, Consent, ConsentEvent
from tend.people.selectors.consents import consent_history, consent_list
from tend.people.services.consent import consent_set
from tend.people.tests.helpers_360 import add_member, make_contact, member_actor


@pytest.fixture
def actor(tenant, owner):
    return member_actor(tenant, owner)


@pytest.fixture
def contact(tenant):
    return make_contact(tenant)


def test_grant_then_revoke_keeps_history_and_flags(scoped, actor, contact):
    _consent, changed = consent_set(tenant=scoped, actor=actor, contact=contact, channel="EMAIL",
                                    purpose="MARKETING", status="GRANTED", source="signup form",
                                    ip="203.0.113.9")
    assert changed is True
    contact.refresh_from_db()
    assert (contact.email_opt_in, contact.sms_opt_in) == (True, False)
    _, changed = consent_set(tenant=scoped, actor=actor, contact=contact, channel="EMAIL",
                             status="REVOKED", source="unsubscribe link")
    assert changed is True
    contact.refresh_from_db()
    assert contact.email_opt_in is False
    assert [(e.status, e.previous_status, e.source) for e in
            consent_history(tenant=scoped, contact=contact)] == [
        ("REVOKED", "GRANTED", "unsubscribe link"), ("GRANTED", "", "signup form")]
    assert [(c.channel, c.status) for c in consent_list(tenant=scoped, contact=contact)] == [
        ("EMAIL", "REVOKED")]
    assert Activity.objects.filter(contact=contact, type="CONSENT_CHANGED").count() == 2
    assert AuditLog.objects.filter(action="consent.changed").count() == 2


def test_same_status_is_a_no_op(scoped, actor, contact):
    consent_set(tenant=scoped, actor=actor, contact=contact, channel="SMS", status="GRANTED")
    _consent, changed = consent_set(tenant=scoped, actor=actor, contact=contact, channel="SMS",
                                    status="GRANTED")
    assert changed is False
    assert (ConsentEvent.objects.count(), Activity.objects.count(),
            AuditLog.objects.filter(action="consent.changed").count()) == (1, 1, 1)


def test_transactional_consent_does_not_set_marketing_flag(scoped, actor, contact):
    consent_set(tenant=scoped, actor=actor, contact=contact, channel="WHATSAPP",
                purpose="TRANSACTIONAL", status="GRANTED")
    contact.refresh_from_db()
    assert contact.whatsapp_opt_in is False
    consent_set(tenant=scoped, actor=actor, contact=contact, channel="WHATSAPP",
                purpose="MARKETING", status="GRANTED")
    contact.refresh_from_db()
    assert contact.whatsapp_opt_in is True


def test_bad_input(scoped, actor, contact):
    with pytest.raises(ValidationFailed) as err:
        consent_set(tenant=scoped, actor=actor, contact=contact, channel="PIGEON",
                    purpose="OTHER", status="MAYBE", ip="not-an-ip")
    assert sorted(err.value.fields) == ["channel", "ip", "purpose", "status"]
    assert Consent.objects.count() == 0


def test_viewer_cannot_change(scoped, contact, make_user):
    viewer = make_user("viewer@example.com")
    add_member(scoped, viewer, "viewer")
    with pytest.raises(PermissionDenied):
        consent_set(tenant=scoped, actor=member_actor(scoped, viewer), contact=contact,
                    channel="EMAIL", status="GRANTED")
