"""Pages: contacts list (search, filters, saved views, bulk actions), contact form, companies."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from tend.core.actors import Actor
from tend.core.services.customfields import customfield_create
from tend.core.services.tags import tag_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member
from tend.core.tests.apitools import signed_in
from tend.people.models import Contact, ContactTag, IdentityAlias, SavedView
from tend.people.services.companies import company_create
from tend.people.services.contacts import contact_create

SYSTEM = Actor.system()
LIST = "/o/acme/people/contacts/"


@pytest.fixture
def web(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def viewer_web(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return signed_in(user, tenant)


def make(tenant, **data):
    emails = data.pop("emails", ())
    tags = data.pop("tags", ())
    with tenant_scope(tenant):
        return contact_create(tenant=tenant, actor=SYSTEM, data=data, emails=emails, tags=tags)


def test_list_shows_contacts_and_searches_live(web, tenant):
    make(tenant, first_name="Lina", last_name="Haddad", emails=["lina@example.com"])
    make(tenant, first_name="ليلى", last_name="الحداد")
    page = web.get(LIST)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Lina Haddad" in html and "ليلى الحداد" in html and "lina@example.com" in html
    partial = web.get(LIST, {"q": "lina@"}, HTTP_HX_REQUEST="true",
                      HTTP_HX_TARGET="contacts-results")
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "Lina Haddad" in body and "ليلى" not in body and "<html" not in body


def test_list_bad_filter_is_422_with_message(web):
    response = web.get(LIST, {"created_after": "yesterday"})
    assert response.status_code == 422
    assert "Enter a date as YYYY-MM-DD." in response.content.decode()


def test_list_columns_and_filters(web, tenant):
    make(tenant, first_name="Amal", city="Doha", lifecycle_stage="LEAD")
    make(tenant, first_name="Bilal", city="Amman")
    html = web.get(LIST, {"cols": ["city"], "lifecycle_stage": "LEAD"}).content.decode()
    assert "Doha" in html and "Bilal" not in html
    assert '<th scope="col">City</th>' in html and '<th scope="col">Email</th>' not in html


def test_viewer_cannot_add_or_bulk(viewer_web, tenant):
    contact = make(tenant, first_name="Amal")
    assert viewer_web.get(LIST).status_code == 200
    assert viewer_web.get(f"{LIST}new/").status_code == 403
    assert viewer_web.get(f"{LIST}{contact.pk}/edit/").status_code == 403
    response = viewer_web.post(f"{LIST}bulk/", {"action": "delete", "ids": [str(contact.pk)]})
    assert response.status_code == 403


def test_list_query_count_does_not_grow(web, tenant):
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
        company = company_create(tenant=tenant, actor=SYSTEM, data={"name": "Gulf Co"})
    for i in range(2):
        make(tenant, first_name=f"A{i}", company=company, tags=[vip], emails=[f"a{i}@x.example"])
    web.get(LIST)
    with CaptureQueriesContext(connection) as few:
        assert web.get(LIST).status_code == 200
    for i in range(10):
        make(tenant, first_name=f"B{i}", company=company, tags=[vip], emails=[f"b{i}@x.example"])
    with CaptureQueriesContext(connection) as many:
        assert web.get(LIST).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_create_contact_through_the_form(web, tenant, owner):
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
        company = company_create(tenant=tenant, actor=SYSTEM, data={"name": "Gulf Co"})
        customfield_create(tenant=tenant, actor=SYSTEM, entity_type="contact",
                           key="newsletter", label="Newsletter", field_type="boolean")
    assert "Newsletter" in web.get(f"{LIST}new/").content.decode()
    response = web.post(f"{LIST}new/", {
        "first_name": "Lina", "last_name": "Haddad", "emails": "lina@example.com\nl@work.example",
        "phones": "+971501234567", "status": "ACTIVE", "lifecycle_stage": "MEMBER",
        "owner": str(owner.pk), "company": str(company.pk), "tags": [str(vip.pk)],
        "custom.newsletter": "true"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        contact = Contact.objects.get()
        assert response["Location"] == f"/o/acme/people/contacts/{contact.pk}/"
        assert (contact.display_name, contact.primary_email, contact.custom) == (
            "Lina Haddad", "lina@example.com", {"newsletter": True})
        assert (contact.owner_id, contact.company_id) == (owner.pk, company.pk)
        assert list(ContactTag.objects.values_list("tag__name", flat=True)) == ["VIP"]


def test_create_form_errors_stay_next_to_fields(web, tenant):
    make(tenant, first_name="Other", emails=["taken@example.com"])
    response = web.post(f"{LIST}new/", {"first_name": "X", "emails": "taken@example.com",
                                        "status": "ACTIVE"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "taken@example.com already belongs to another contact." in html
    assert 'id="id_emails_error"' in html
    response = web.post(f"{LIST}new/", {"first_name": "X", "status": "ACTIVE", "country": "1A"})
    assert response.status_code == 422
    assert 'id="id_country_error"' in response.content.decode()
    with tenant_scope(tenant):
        assert Contact.objects.count() == 1


def test_edit_contact(web, tenant):
    contact = make(tenant, first_name="Lina", emails=["lina@example.com", "old@example.com"])
    url = f"{LIST}{contact.pk}/edit/"
    form = web.get(url).content.decode()
    assert "lina@example.com\nold@example.com" in form
    response = web.post(url, {"first_name": "Lina", "last_name": "Saleh", "status": "ACTIVE",
                               "emails": "new@example.com\nlina@example.com", "phones": ""})
    assert response.status_code == 302
    with tenant_scope(tenant):
        contact.refresh_from_db()
        assert (contact.display_name, contact.primary_email) == ("Lina Saleh", "new@example.com")
        assert sorted(IdentityAlias.objects.values_list("value", flat=True)) == [
            "lina@example.com", "new@example.com"]


def test_bulk_tag_owner_delete(web, tenant, owner):
    a = make(tenant, first_name="Amal")
    b = make(tenant, first_name="Bilal")
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
    ids = [str(a.pk), str(b.pk)]
    assert web.post(f"{LIST}bulk/", {"action": "tag", "tag": str(vip.pk), "ids": ids}
                    ).status_code == 302
    web.post(f"{LIST}bulk/", {"action": "owner", "owner": str(owner.pk), "ids": ids})
    web.post(f"{LIST}bulk/", {"action": "delete", "ids": [str(a.pk)]})
    with tenant_scope(tenant):
        assert ContactTag.objects.count() == 2
        assert set(Contact.objects.values_list("owner_id", flat=True)) == {owner.pk}
        assert Contact.objects.get(pk=a.pk).status == "DELETED"


def test_saved_views(web, tenant):
    make(tenant, first_name="Amal", lifecycle_stage="LEAD")
    make(tenant, first_name="Bilal")
    response = web.post(f"{LIST}views/?lifecycle_stage=LEAD&cols=city", {"name": "Leads"})
    with tenant_scope(tenant):
        view = SavedView.objects.get()
    assert response["Location"] == f"{LIST}?view={view.pk}"
    assert (view.filters, view.columns, view.is_shared) == ({"lifecycle_stage": "LEAD"},
                                                            ["city"], False)
    html = web.get(LIST, {"view": str(view.pk)}).content.decode()
    assert "Amal" in html and "Bilal" not in html
    web.post(f"{LIST}views/?lifecycle_stage=LEAD", {"name": "Leads"})
    with tenant_scope(tenant):
        assert SavedView.objects.count() == 1
    web.post(f"{LIST}views/{view.pk}/delete/")
    with tenant_scope(tenant):
        assert SavedView.objects.count() == 0


def test_companies_pages(web, tenant):
    response = web.post("/o/acme/people/companies/new/", {"name": "Gulf Co",
                                                           "name_ar": "شركة الخليج",
                                                           "city": "Dubai"})
    assert response.status_code == 302
    with tenant_scope(tenant):
        from tend.people.models import Company
        company = Company.objects.get()
    assert company.names == {"ar": "شركة الخليج"}
    make(tenant, first_name="Lina", company=company)
    html = web.get(f"/o/acme/people/companies/{company.pk}/").content.decode()
    assert "Gulf Co" in html and "Lina" in html and "شركة الخليج" in html
    listing = web.get("/o/acme/people/companies/", {"q": "gulf"}, HTTP_HX_REQUEST="true",
                      HTTP_HX_TARGET="companies-results").content.decode()
    assert "Gulf Co" in listing and "<html" not in listing
    bad = web.post(f"/o/acme/people/companies/{company.pk}/edit/", {"name": "Gulf Co",
                                                                    "website": "ftp://x"})
    assert bad.status_code == 422
    assert web.post(f"/o/acme/people/companies/{company.pk}/delete/").status_code == 302
    assert web.get(f"/o/acme/people/companies/{company.pk}/").status_code == 404


def test_arabic_pages_are_right_to_left(tenant, owner):
    make(tenant, first_name="Lina")
    owner.language = "ar"
    owner.save(update_fields=["language"])
    web = signed_in(owner, tenant)
    try:
        pages = [web.get(url) for url in (LIST, f"{LIST}new/", "/o/acme/people/companies/")]
    finally:
        translation.activate("en")  # the middleware leaves the request's language active
    for response in pages:
        assert response.status_code == 200
        assert '<html lang="ar" dir="rtl">' in response.content.decode()
    assert "Lina" in pages[0].content.decode()


def test_shared_views_need_manage_and_are_seen_by_all(web, viewer_web, tenant):
    viewer_web.post(f"{LIST}views/?status=INACTIVE", {"name": "Mine", "is_shared": "on"})
    with tenant_scope(tenant):
        assert SavedView.objects.count() == 0
    web.post(f"{LIST}views/?status=INACTIVE", {"name": "Team", "is_shared": "on"})
    web.post(f"{LIST}views/", {"name": "Private"})
    html = viewer_web.get(LIST).content.decode()
    assert ">Team</a>" in html and "Private" not in html
    with tenant_scope(tenant):
        team = SavedView.objects.get(name="Team")
    assert viewer_web.post(f"{LIST}views/{team.pk}/delete/").status_code == 403
