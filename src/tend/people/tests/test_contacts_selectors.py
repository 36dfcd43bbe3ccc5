import datetime as dt

import pytest

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.services.customfields import customfield_create
from tend.core.services.tags import tag_create
from tend.people.models import Contact
from tend.people.selectors.contacts import (
    company_get,
    company_list,
    contact_get,
    contact_list,
)
from tend.people.services.aliases import alias_add
from tend.people.services.companies import company_create, company_delete, company_update
from tend.people.services.contacts import (
    contact_create,
    contact_delete,
    contact_tags_add,
    contact_update,
)

SYSTEM = Actor.system()


def names(qs):
    return [c.display_name for c in qs]


@pytest.fixture
def people(scoped, owner):
    lina = contact_create(tenant=scoped, actor=SYSTEM,
                          data={"first_name": "Lina", "last_name": "Haddad",
                                "lifecycle_stage": "MEMBER", "owner": owner.pk},
                          emails=["lina@example.com"], phones=["+971501234567"])
    mohammed = contact_create(tenant=scoped, actor=SYSTEM,
                              data={"first_name": "Mohammed", "last_name": "Al Mansouri"},
                              emails=["m.mansouri@gulf.example"])
    arabic = contact_create(tenant=scoped, actor=SYSTEM,
                            data={"first_name": "ليلى", "last_name": "الحداد"},
                            phones=["+966501112233"])
    return {"lina": lina, "mohammed": mohammed, "arabic": arabic}


@pytest.mark.parametrize(("search", "expected"), [
    ("lina", ["Lina Haddad"]),
    ("Hadd", ["Lina Haddad"]),
    ("lina@example.com", ["Lina Haddad"]),
    ("MANSOURI", ["Mohammed Al Mansouri"]),
    ("gulf.example", ["Mohammed Al Mansouri"]),
    ("ليلى", ["ليلى الحداد"]),
    ("1234567", ["Lina Haddad"]),
    ("nobody-here", []),
])
def test_search(people, scoped, search, expected):
    assert names(contact_list(tenant=scoped, actor=SYSTEM, search=search)) == expected


def test_search_finds_secondary_identity_exactly(people, scoped):
    alias_add(tenant=scoped, actor=SYSTEM, contact=people["mohammed"], type="EMAIL",
              value="mo@second.example")
    alias_add(tenant=scoped, actor=SYSTEM, contact=people["mohammed"], type="PHONE",
              value="+12025550143")
    assert names(contact_list(tenant=scoped, actor=SYSTEM, search="MO@second.example")) == [
        "Mohammed Al Mansouri"]
    assert names(contact_list(tenant=scoped, actor=SYSTEM, search="+1 (202) 555-0143")) == [
        "Mohammed Al Mansouri"]


def test_search_follows_renames(people, scoped):
    contact_update(tenant=scoped, actor=SYSTEM, contact=people["lina"],
                   data={"last_name": "Saleh"})
    assert names(contact_list(tenant=scoped, actor=SYSTEM, search="saleh")) == ["Lina Saleh"]
    assert names(contact_list(tenant=scoped, actor=SYSTEM, search="haddad")) == []


def test_merged_and_deleted_are_hidden_by_default(people, scoped):
    contact_delete(tenant=scoped, actor=SYSTEM, contact=people["lina"])
    assert names(contact_list(tenant=scoped, actor=SYSTEM)) == [
        "Mohammed Al Mansouri", "ليلى الحداد"]
    assert names(contact_list(tenant=scoped, actor=SYSTEM, filters={"status": "DELETED"})) == [
        "Lina Haddad"]


def test_filters(people, scoped, owner):
    vip = tag_create(tenant=scoped, actor=SYSTEM, name="VIP")
    contact_tags_add(tenant=scoped, actor=SYSTEM, contact=people["mohammed"], tags=[vip])
    company = company_create(tenant=scoped, actor=SYSTEM, data={"name": "Gulf Co"})
    contact_update(tenant=scoped, actor=SYSTEM, contact=people["arabic"],
                   data={"company": company.pk})

    def run(**filters):
        return names(contact_list(tenant=scoped, actor=Actor(kind="user", user=owner),
                                  filters=filters))

    assert run(lifecycle_stage="MEMBER") == ["Lina Haddad"]
    assert run(owner="me") == ["Lina Haddad"]
    assert run(owner="none") == ["Mohammed Al Mansouri", "ليلى الحداد"]
    assert run(tag=str(vip.pk)) == ["Mohammed Al Mansouri"]
    assert run(company=str(company.pk)) == ["ليلى الحداد"]
    assert run(has_email="true") == ["Lina Haddad", "Mohammed Al Mansouri"]
    assert run(has_phone="false") == ["Mohammed Al Mansouri"]
    today = dt.date.today()
    assert run(created_after=today.isoformat()) == [
        "Lina Haddad", "Mohammed Al Mansouri", "ليلى الحداد"]
    assert run(created_before=(today - dt.timedelta(days=2)).isoformat()) == []


def test_custom_filter(people, scoped):
    customfield_create(tenant=scoped, actor=SYSTEM, entity_type="contact", key="newsletter",
                       label="Newsletter", field_type="boolean")
    contact_update(tenant=scoped, actor=SYSTEM, contact=people["lina"],
                   data={"custom": {"newsletter": True}})
    result = contact_list(tenant=scoped, actor=SYSTEM, filters={"custom": {"newsletter": "yes"}})
    assert names(result) == ["Lina Haddad"]


def test_bad_filters_and_sort(scoped):
    with pytest.raises(ValidationFailed) as err:
        contact_list(tenant=scoped, actor=SYSTEM, filters={
            "status": "X", "tag": "nope", "created_after": "2020-99-01", "bogus": 1,
            "custom": {"missing": 1}})
    assert sorted(err.value.fields) == ["bogus", "created_after", "custom.missing", "status",
                                        "tag"]
    with pytest.raises(ValidationFailed) as err:
        contact_list(tenant=scoped, actor=SYSTEM, sort="shoe size")
    assert list(err.value.fields) == ["sort"]


def test_sorts(people, scoped):
    assert names(contact_list(tenant=scoped, actor=SYSTEM, sort="-created")) == [
        "ليلى الحداد", "Mohammed Al Mansouri", "Lina Haddad"]
    # Every contact got an activity on create; the most recent first.
    assert names(contact_list(tenant=scoped, actor=SYSTEM, sort="-last_activity"))[0] == (
        "ليلى الحداد")


def test_contact_get(people, scoped, make_tenant):
    got = contact_get(tenant=scoped, contact_id=people["lina"].pk)
    assert [a.value for a in got.aliases.all()] == ["lina@example.com", "+971501234567"]
    from tend.core.errors import NotFound
    with pytest.raises(NotFound):
        contact_get(tenant=scoped, contact_id="not-an-id")


def test_companies(scoped, people):
    gulf = company_create(tenant=scoped, actor=SYSTEM,
                          data={"name": "Gulf Co", "domain": "Gulf.Example",
                                "website": "https://gulf.example"})
    company_create(tenant=scoped, actor=SYSTEM, data={"name": "Atlas"})
    contact_update(tenant=scoped, actor=SYSTEM, contact=people["lina"],
                   data={"company": gulf.pk})
    listed = list(company_list(tenant=scoped))
    assert [(c.name, c.contact_count) for c in listed] == [("Atlas", 0), ("Gulf Co", 1)]
    assert [c.name for c in company_list(tenant=scoped, search="gulf.ex")] == ["Gulf Co"]
    company_update(tenant=scoped, actor=SYSTEM, company=gulf, data={"city": "Dubai"})
    assert company_get(tenant=scoped, company_id=gulf.pk).city == "Dubai"
    with pytest.raises(ValidationFailed) as err:
        company_create(tenant=scoped, actor=SYSTEM, data={"name": "", "website": "ftp://x",
                                                          "country": "ARE"})
    assert sorted(err.value.fields) == ["country", "name", "website"]
    company_delete(tenant=scoped, actor=SYSTEM, company=gulf)
    assert [c.name for c in company_list(tenant=scoped)] == ["Atlas"]
    assert Contact.objects.get(pk=people["lina"].pk).company_id == gulf.pk


def test_postgresql_search_tolerates_misspelled_names(people, scoped):
    from django.db import connection
    if connection.vendor != "postgresql":
        pytest.skip("trigram similarity is the PostgreSQL path")
    assert names(contact_list(tenant=scoped, actor=SYSTEM, search="Mohamad")) == [
        "Mohammed Al Mansouri"]
