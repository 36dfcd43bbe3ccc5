"""The contacts list's "remove tag" bulk action and its "has any of" filter on multi-choice
custom fields (page, saved view, API, selector)."""

import pytest

from tend.core.actors import Actor
from tend.core.errors import ValidationFailed
from tend.core.models import AuditLog
from tend.core.services.customfields import customfield_create
from tend.core.services.tags import tag_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import signed_in
from tend.people.models import ContactTag, SavedView
from tend.people.selectors.contacts import contact_list
from tend.people.services.contacts import contact_create

SYSTEM = Actor.system()
LIST = "/o/acme/people/contacts/"


@pytest.fixture
def web(tenant, owner):
    return signed_in(owner, tenant)


def make(tenant, first, **data):
    with tenant_scope(tenant):
        return contact_create(tenant=tenant, actor=SYSTEM,
                              data={"first_name": first, "last_name": "Test", **data})


@pytest.fixture
def sports(tenant):
    """A multi-choice field and four people holding different choices."""
    with tenant_scope(tenant):
        customfield_create(tenant=tenant, actor=SYSTEM, entity_type="contact", key="sports",
                           label={"en": "Sports", "ar": "الرياضات"}, field_type="multi_choice",
                           choices=[{"value": "golf", "label": {"en": "Golf", "ar": "غولف"}},
                                    {"value": "tennis", "label": {"en": "Tennis"}},
                                    {"value": "padel", "label": {"en": "Padel"}}])
    return {
        "golfer": make(tenant, "Golfer", custom={"sports": ["golf"]}),
        "both": make(tenant, "Both", custom={"sports": ["tennis", "padel"]}),
        "padel": make(tenant, "Padel", custom={"sports": ["padel"]}),
        "none": make(tenant, "None"),
    }


def names(qs):
    return sorted(c.first_name for c in qs)


def test_bulk_remove_tag(web, tenant):
    a, b, c = make(tenant, "Amal"), make(tenant, "Bilal"), make(tenant, "Carim")
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
        for contact in (a, b, c):
            ContactTag.objects.create(tenant=tenant, contact=contact, tag=vip)
    page = web.get(LIST).content.decode()
    assert '<option value="untag">' in page
    response = web.post(f"{LIST}bulk/", {"action": "untag", "tag": str(vip.pk),
                                         "ids": [str(a.pk), str(b.pk)]})
    assert response.status_code == 302
    with tenant_scope(tenant):
        assert list(ContactTag.objects.values_list("contact_id", flat=True)) == [c.pk]
        assert AuditLog.objects.filter(entity_id=str(a.pk)).exists()
    refused = web.post(f"{LIST}bulk/", {"action": "untag", "tag": "not-a-tag",
                                        "ids": [str(c.pk)]}, follow=True)
    assert refused.status_code == 200
    with tenant_scope(tenant):
        assert ContactTag.objects.count() == 1


def test_selector_has_any_of(tenant, sports):
    with tenant_scope(tenant):
        def run(value):
            return names(contact_list(tenant=tenant, actor=SYSTEM,
                                      filters={"custom": {"sports": value}}))

        assert run("padel") == ["Both", "Padel"]
        assert run(["golf", "tennis"]) == ["Both", "Golfer"]
        assert run(["golf", "padel"]) == ["Both", "Golfer", "Padel"]
        with pytest.raises(ValidationFailed) as err:
            run(["chess"])
        assert list(err.value.fields) == ["custom.sports"]
        with pytest.raises(ValidationFailed):
            run([])


def test_page_filter_and_saved_view(web, tenant, sports):
    page = web.get(LIST).content.decode()
    assert 'name="cf.sports"' in page and ">Tennis</option>" in page
    html = web.get(LIST, {"cf.sports": ["golf", "tennis"]}).content.decode()
    assert "Golfer" in html and "Both" in html and "Padel Test" not in html
    assert '<option value="golf" selected>' in html
    bad = web.get(LIST, {"cf.sports": "chess"})
    assert bad.status_code == 422
    saved = web.post(f"{LIST}views/?cf.sports=padel", {"name": "Padel players"})
    assert saved.status_code == 302
    with tenant_scope(tenant):
        view = SavedView.objects.get()
        assert view.filters == {"custom": {"sports": ["padel"]}}
    listed = web.get(saved["Location"]).content.decode()
    assert "Padel Test" in listed and "Golfer" not in listed
    assert "cf.sports=padel" in listed  # the list's own links keep the filter


def test_api_repeated_key_means_any_of(web, sports):
    response = web.get("/api/v1/contacts", {"custom": ["sports=golf", "sports=padel"]})
    assert response.status_code == 200
    assert sorted(c["first_name"] for c in response.json()["items"]) == [
        "Both", "Golfer", "Padel"]
    one = web.get("/api/v1/contacts", {"custom": "sports=tennis"}).json()
    assert [c["first_name"] for c in one["items"]] == ["Both"]
    assert web.get("/api/v1/contacts", {"custom": "sports=chess"}).status_code == 422
