import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from tend.core.actors import Actor
from tend.core.errors import Conflict, PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Tenant
from tend.core.tenancy import system_scope
from tend.people.models import (
    Activity,
    Consent,
    Contact,
    DuplicateCandidate,
    IdentityAlias,
    Interaction,
    Note,
)
from tend.people.privacy_registry import (
    privacy_exporters,
    register_privacy_eraser,
    register_privacy_exporter,
    unregister_privacy_eraser,
    unregister_privacy_exporter,
)
from tend.people.registration_merge import retention_tick
from tend.people.selectors.contacts import contact_list
from tend.people.services.privacy import (
    contact_erase,
    privacy_export_build,
    retention_apply,
    retention_dry_run,
    retention_settings,
    retention_settings_update,
)

SYSTEM = Actor.system()
EMAIL, PHONE = "rania.k@example.com", "+971501112233"


@pytest.fixture
def rania(scoped):
    contact = Contact.objects.create(
        tenant=scoped, first_name="Rania", last_name="Khalil", display_name="Rania Khalil",
        city="Dubai", date_of_birth="1990-04-01", custom={"shirt": "M"},
        external_ids={"shop": "42"}, primary_email=EMAIL, primary_phone=PHONE,
        address_line1="12 Palm Road",
    )
    IdentityAlias.objects.create(tenant=scoped, contact=contact, type="EMAIL", value=EMAIL,
                                 is_primary=True)
    IdentityAlias.objects.create(tenant=scoped, contact=contact, type="PHONE", value=PHONE,
                                 is_primary=True)
    Note.objects.create(tenant=scoped, contact=contact, body="Rania prefers mornings")
    Note.objects.create(tenant=scoped, contact=contact, body="private one", is_private=True)
    Interaction.objects.create(tenant=scoped, contact=contact, channel="PHONE",
                               summary="Called Rania about her renewal", outcome="yes")
    Activity.objects.create(tenant=scoped, contact=contact, type="TICKET_PURCHASED",
                            title="Rania bought a ticket", description="Seat 4",
                            metadata={"email": EMAIL, "seat": {"row": 4}})
    Consent.objects.create(tenant=scoped, contact=contact, channel="EMAIL", status="REVOKED",
                           ip="10.0.0.1")
    return contact


def test_export_zip_holds_every_registered_part(scoped, rania):
    register_privacy_exporter("test.extra", lambda tenant, contact: {"module": "extra"})
    try:
        content = privacy_export_build(tenant=scoped, actor=SYSTEM, contact=rania)
    finally:
        unregister_privacy_exporter("test.extra")
    archive = zipfile.ZipFile(io.BytesIO(content))
    names = sorted(archive.namelist())
    people_parts = ["contact.json", "company.json", "aliases.json", "consents.json",
                    "consent_history.json", "notes.json", "interactions.json", "tasks.json",
                    "activities.json"]
    other_modules = [f"{name}.json" for name, _func in privacy_exporters()
                     if f"{name}.json" not in people_parts]
    assert names == sorted([*people_parts, *other_modules, "test.extra.json",
                            "manifest.json"])
    contact = json.loads(archive.read("contact.json"))
    assert (contact["first_name"], contact["primary_email"], contact["custom"]) == (
        "Rania", EMAIL, {"shirt": "M"})
    notes = json.loads(archive.read("notes.json"))
    assert sorted(n["body"] for n in notes) == ["Rania prefers mornings", "private one"]
    assert json.loads(archive.read("test.extra.json")) == {"module": "extra"}
    assert [a["value"] for a in json.loads(archive.read("aliases.json"))] == [EMAIL, PHONE]
    entry = AuditLog.objects.get(action="contact.privacy_exported")
    assert (entry.entity_id, entry.changes) == (str(rania.pk), {})


def test_export_needs_permission(scoped, rania):
    with pytest.raises(PermissionDenied):
        privacy_export_build(tenant=scoped, actor=Actor(kind="user", permissions=frozenset()),
                             contact=rania)


def test_erase_anonymizes_and_no_search_finds_the_person(scoped, rania):
    for needle in (EMAIL, PHONE, "Rania"):  # the search can find her before
        assert [c.pk for c in contact_list(tenant=scoped, actor=None, search=needle)] == [
            rania.pk]
    erased_by_module = []
    register_privacy_eraser("test.module", lambda t, c: erased_by_module.append(c.pk))
    try:
        contact = contact_erase(tenant=scoped, actor=SYSTEM, contact=rania,
                                confirmation="ERASE")
    finally:
        unregister_privacy_eraser("test.module")
    assert erased_by_module == [rania.pk]
    assert (contact.display_name, contact.first_name, contact.last_name, contact.city,
            contact.date_of_birth, contact.custom, contact.external_ids,
            contact.address_line1, contact.primary_email, contact.primary_phone,
            contact.status) == ("Erased contact", "", "", "", None, {}, {}, "", "", "",
                                "DELETED")
    assert contact.erased_at is not None and contact.deleted_at is not None
    assert IdentityAlias.objects.filter(contact=rania).count() == 0
    assert sorted(Note.objects.filter(contact=rania).values_list("body", flat=True)) == [
        "[erased]", "[erased]"]
    assert list(Interaction.objects.filter(contact=rania).values_list("summary", "outcome")) \
        == [("[erased]", "")]
    activity = Activity.objects.get(contact=rania)
    assert (activity.title, activity.description, activity.metadata) == (
        "[erased]", "", {"email": None, "seat": {"row": None}})
    assert Consent.objects.get(contact=rania).ip is None
    for needle in (EMAIL, PHONE, "Rania", "rania.k"):
        found = contact_list(tenant=scoped, actor=None, search=needle,
                             filters={"include_deleted": True})
        assert list(found) == [], needle
        assert not IdentityAlias.objects.filter(value__icontains=needle).exists()
        assert not Contact.objects.filter(primary_email__icontains=needle).exists()
    entry = AuditLog.objects.get(action="contact.erased")
    assert (entry.entity_id, entry.changes) == (str(rania.pk), {"reason": "request"})
    assert EMAIL not in json.dumps(entry.changes)


def test_erase_rules(scoped, rania):
    with pytest.raises(ValidationFailed) as err:
        contact_erase(tenant=scoped, actor=SYSTEM, contact=rania, confirmation="erase me")
    assert list(err.value.fields) == ["confirmation"]
    with pytest.raises(PermissionDenied):
        contact_erase(tenant=scoped, actor=Actor(kind="user", permissions=frozenset(
            {"privacy.export"})), contact=rania, confirmation="ERASE")
    other = Contact.objects.create(tenant=scoped, first_name="B", display_name="B")
    DuplicateCandidate.objects.create(tenant=scoped, contact_a_id=min(rania.pk, other.pk),
                                      contact_b_id=max(rania.pk, other.pk), match_type="NAME",
                                      score=80)
    contact_erase(tenant=scoped, actor=SYSTEM, contact=rania, confirmation="ERASE")
    assert DuplicateCandidate.objects.count() == 0
    with pytest.raises(Conflict):
        contact_erase(tenant=scoped, actor=SYSTEM, contact=rania, confirmation="ERASE")


def test_retention_settings_validation(scoped):
    assert retention_settings(scoped) == {"enabled": False, "inactive_months": 24}
    with pytest.raises(ValidationFailed) as err:
        retention_settings_update(tenant=scoped, actor=SYSTEM, enabled="yes",
                                  inactive_months=0)
    assert sorted(err.value.fields) == ["enabled", "inactive_months"]
    assert retention_settings_update(tenant=scoped, actor=SYSTEM, enabled=True,
                                     inactive_months="12") == {"enabled": True,
                                                               "inactive_months": 12}
    with system_scope():
        assert Tenant.objects.get(pk=scoped.pk).settings["retention"] == {
            "enabled": True, "inactive_months": 12}


def test_retention_erases_inactive_people_without_consent(
        scoped, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(days=400)
    stale = Contact.objects.create(tenant=scoped, first_name="Old", display_name="Old",
                                   last_activity_at=old)
    consenting = Contact.objects.create(tenant=scoped, first_name="Kept", display_name="Kept",
                                        last_activity_at=old)
    Consent.objects.create(tenant=scoped, contact=consenting, channel="EMAIL",
                           status="GRANTED")
    revoked = Contact.objects.create(tenant=scoped, first_name="Gone", display_name="Gone",
                                     last_activity_at=old)
    Consent.objects.create(tenant=scoped, contact=revoked, channel="EMAIL", status="REVOKED")
    recent = Contact.objects.create(tenant=scoped, first_name="New", display_name="New",
                                    last_activity_at=timezone.now())
    assert retention_dry_run(tenant=scoped, months=12) == 2
    assert retention_apply(tenant=scoped) == 0  # the rule is off
    retention_settings_update(tenant=scoped, actor=SYSTEM, enabled=True, inactive_months=12)
    with system_scope(), django_capture_on_commit_callbacks(execute=True):
        assert retention_tick(timezone.now()) == 1
    erased = set(Contact.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == {stale.pk, revoked.pk}
    assert recent.pk not in erased and consenting.pk not in erased
    assert AuditLog.objects.filter(action="contact.erased",
                                   changes={"reason": "retention"}).count() == 2
    assert retention_dry_run(tenant=scoped) == 0
