import pytest
from django.utils import translation

from tend.core.actors import Actor
from tend.core.errors import PermissionDenied, ValidationFailed
from tend.core.models import AuditLog, Membership
from tend.core.services.customfields import customfield_create
from tend.core.services.tags import tag_create
from tend.people.models import Activity, Company, Contact, ContactTag, IdentityAlias
from tend.people.services.aliases import (
    alias_add,
    alias_remove,
    alias_set_primary,
    alias_verify,
)
from tend.people.services.contacts import (
    contact_create,
    contact_delete,
    contact_restore,
    contact_tags_add,
    contact_tags_remove,
    contact_tags_set,
    contact_update,
)

SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def contact(scoped):
    return contact_create(tenant=scoped, actor=SYSTEM,
                          data={"first_name": "Lina", "last_name": "Haddad"},
                          emails=["Lina@Example.com"], phones=["+971 50 123 4567"])


def test_create_computes_display_name_and_primaries(scoped, contact):
    contact.refresh_from_db()
    assert (contact.display_name, contact.display_name_custom) == ("Lina Haddad", False)
    assert (contact.primary_email, contact.primary_phone) == ("lina@example.com",
                                                              "+971501234567")
    assert sorted(IdentityAlias.objects.values_list("type", "value", "is_primary")) == [
        ("EMAIL", "lina@example.com", True), ("PHONE", "+971501234567", True)]
    assert list(Activity.objects.values_list("type", flat=True)) == ["CONTACT_CREATED"]
    assert AuditLog.objects.filter(action="contact.created", entity_id=str(contact.pk)).count() == 1


def test_create_with_custom_display_name(scoped):
    c = contact_create(tenant=scoped, actor=SYSTEM,
                       data={"first_name": "Omar", "display_name": "Dr. Omar"})
    assert (c.display_name, c.display_name_custom) == ("Dr. Omar", True)


def test_create_needs_a_name_or_identity(scoped):
    with pytest.raises(ValidationFailed) as err:
        contact_create(tenant=scoped, actor=SYSTEM, data={})
    assert list(err.value.fields) == ["first_name"]


def test_create_refuses_unknown_fields_and_bad_values(scoped):
    with pytest.raises(ValidationFailed) as err:
        contact_create(tenant=scoped, actor=SYSTEM, data={
            "first_name": "A", "tenant": "x", "gender": "ROBOT", "country": "ARE",
            "time_zone": "Mars/Base", "status": "MERGED", "date_of_birth": "1990-13-01",
            "custom": {"nope": 1}})
    assert sorted(err.value.fields) == ["country", "custom.nope", "date_of_birth", "gender",
                                        "status", "tenant", "time_zone"]
    assert Contact.objects.count() == 0


def test_create_needs_permission(scoped):
    with pytest.raises(PermissionDenied):
        contact_create(tenant=scoped, actor=Actor(kind="user"), data={"first_name": "A"})


def test_owner_must_be_a_member_and_company_of_tenant(scoped, make_user, make_tenant, owner):
    stranger = make_user("stranger@example.com")
    with pytest.raises(ValidationFailed) as err:
        contact_create(tenant=scoped, actor=SYSTEM,
                       data={"first_name": "A", "owner": stranger.pk, "company": "nope"})
    assert sorted(err.value.fields) == ["company", "owner"]
    company = Company.objects.create(tenant=scoped, name="Gulf Co")
    c = contact_create(tenant=scoped, actor=SYSTEM,
                       data={"first_name": "A", "owner": str(owner.pk),
                             "company": str(company.pk)})
    assert (c.owner_id, c.company_id) == (owner.pk, company.pk)
    membership = Membership.objects.get(tenant=scoped, user=owner)
    assert membership.is_current


def test_custom_values_are_validated(scoped):
    customfield_create(tenant=scoped, actor=SYSTEM, entity_type="contact", key="level",
                       label="Level", field_type="choice", choices=["gold", "silver"])
    with pytest.raises(ValidationFailed) as err:
        contact_create(tenant=scoped, actor=SYSTEM,
                       data={"first_name": "A", "custom": {"level": "bronze"}})
    assert list(err.value.fields) == ["custom.level"]
    c = contact_create(tenant=scoped, actor=SYSTEM,
                       data={"first_name": "A", "custom": {"level": "gold"}})
    assert c.custom == {"level": "gold"}
    contact_update(tenant=scoped, actor=SYSTEM, contact=c, data={"custom": {"level": ""}})
    c.refresh_from_db()
    assert c.custom == {}


def test_update_records_changed_fields(scoped, contact):
    contact_update(tenant=scoped, actor=SYSTEM, contact=contact,
                   data={"last_name": "Khoury", "city": "Dubai", "first_name": "Lina"})
    contact.refresh_from_db()
    assert (contact.display_name, contact.city) == ("Lina Khoury", "Dubai")
    activity = Activity.objects.get(type="CONTACT_UPDATED")
    assert activity.metadata == {"fields": ["city", "display_name", "last_name"]}
    assert AuditLog.objects.filter(action="contact.updated").get().changes == {
        "fields": ["city", "display_name", "last_name"]}


def test_update_without_changes_records_nothing(scoped, contact):
    contact_update(tenant=scoped, actor=SYSTEM, contact=contact, data={"first_name": "Lina"})
    assert Activity.objects.filter(type="CONTACT_UPDATED").count() == 0


def test_full_update_clears_absent_fields(scoped, contact):
    contact_update(tenant=scoped, actor=SYSTEM, contact=contact, data={"city": "Doha"})
    contact_update(tenant=scoped, actor=SYSTEM, contact=contact, partial=False,
                   data={"first_name": "Lina"})
    contact.refresh_from_db()
    assert (contact.city, contact.last_name, contact.display_name) == ("", "", "Lina")


def test_display_name_pin_and_unpin(scoped, contact):
    contact_update(tenant=scoped, actor=SYSTEM, contact=contact, data={"display_name": "LH"})
    assert (contact.display_name, contact.display_name_custom) == ("LH", True)
    contact_update(tenant=scoped, actor=SYSTEM, contact=contact, data={"display_name": ""})
    assert (contact.display_name, contact.display_name_custom) == ("Lina Haddad", False)


def test_delete_and_restore(scoped, contact):
    contact_delete(tenant=scoped, actor=SYSTEM, contact=contact)
    contact.refresh_from_db()
    assert contact.status == "DELETED" and contact.deleted_at is not None
    with pytest.raises(ValidationFailed):
        contact_update(tenant=scoped, actor=SYSTEM, contact=contact, data={"city": "X"})
    contact_restore(tenant=scoped, actor=SYSTEM, contact=contact)
    contact.refresh_from_db()
    assert (contact.status, contact.deleted_at) == ("ACTIVE", None)


def test_alias_taken_by_another_contact(scoped, contact):
    other = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Sam"})
    with pytest.raises(ValidationFailed) as err:
        alias_add(tenant=scoped, actor=SYSTEM, contact=other, type="EMAIL",
                  value="LINA@example.com")
    assert err.value.fields == {"email": ["lina@example.com already belongs to another contact."]}
    with pytest.raises(ValidationFailed) as err:
        contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "X"},
                       phones=["050 123 4567"])
    assert list(err.value.fields) == ["phones"]


def test_alias_primary_moves_and_syncs(scoped, contact):
    second = alias_add(tenant=scoped, actor=SYSTEM, contact=contact, type="EMAIL",
                       value="lina@work.example", is_primary=True)
    contact.refresh_from_db()
    assert contact.primary_email == "lina@work.example"
    first = IdentityAlias.objects.get(value="lina@example.com")
    alias_set_primary(tenant=scoped, actor=SYSTEM, contact=contact, alias=first)
    contact.refresh_from_db()
    assert contact.primary_email == "lina@example.com"
    alias_remove(tenant=scoped, actor=SYSTEM, contact=contact, alias=first)
    contact.refresh_from_db()
    second.refresh_from_db()
    assert (contact.primary_email, second.is_primary) == ("lina@work.example", True)
    alias_remove(tenant=scoped, actor=SYSTEM, contact=contact, alias=second)
    contact.refresh_from_db()
    assert contact.primary_email == ""


def test_alias_verify_and_bad_values(scoped, contact):
    alias = IdentityAlias.objects.get(type="PHONE")
    alias_verify(tenant=scoped, actor=SYSTEM, contact=contact, alias=alias)
    assert alias.verified_at is not None
    with pytest.raises(ValidationFailed) as err:
        alias_add(tenant=scoped, actor=SYSTEM, contact=contact, type="PHONE", value="12")
    assert list(err.value.fields) == ["phone"]
    with pytest.raises(ValidationFailed) as err:
        alias_add(tenant=scoped, actor=SYSTEM, contact=contact, type="EXTERNAL", value="42")
    assert list(err.value.fields) == ["system"]


def test_alias_of_another_contact_refused(scoped, contact):
    other = contact_create(tenant=scoped, actor=SYSTEM, data={"first_name": "Sam"})
    alias = IdentityAlias.objects.get(type="PHONE")
    with pytest.raises(ValidationFailed) as err:
        alias_remove(tenant=scoped, actor=SYSTEM, contact=other, alias=alias)
    assert list(err.value.fields) == ["alias"]


def test_tags(scoped, contact):
    vip = tag_create(tenant=scoped, actor=SYSTEM, name="VIP")
    donor = tag_create(tenant=scoped, actor=SYSTEM, name="Donor")
    contact_tags_set(tenant=scoped, actor=SYSTEM, contact=contact, tags=[vip.pk, str(donor.pk)])
    assert set(ContactTag.objects.values_list("tag__name", flat=True)) == {"VIP", "Donor"}
    contact_tags_remove(tenant=scoped, actor=SYSTEM, contact=contact, tags=[vip])
    contact_tags_add(tenant=scoped, actor=SYSTEM, contact=contact, tags=[vip, donor])
    contact_tags_set(tenant=scoped, actor=SYSTEM, contact=contact, tags=[donor])
    assert list(ContactTag.objects.values_list("tag__name", flat=True)) == ["Donor"]
    with pytest.raises(ValidationFailed) as err:
        contact_tags_add(tenant=scoped, actor=SYSTEM, contact=contact, tags=["bogus"])
    assert list(err.value.fields) == ["tags"]
