"""Pages: the segment list, the form (static and dynamic, with rule errors), a segment's
page (members, chart, export, removal, refresh), the contacts list's Add to list action and
the import option."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tend.core.actors import Actor
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.marketing.models import Segment
from tend.marketing.services.membership import segment_add_members
from tend.marketing.services.segments import segment_create
from tend.marketing.tests.helpers import city_rule, member_ids
from tend.people.tests.helpers_360 import make_contact

SYSTEM = Actor.system()
BASE = "/o/acme/marketing/segments/"


@pytest.fixture
def web(tenant, owner):
    return signed_in(owner, tenant)


def make_list(tenant, name="VIP", contacts=()):
    with tenant_scope(tenant):
        segment = segment_create(tenant=tenant, actor=SYSTEM, data={"name": name})
        segment_add_members(tenant=tenant, actor=SYSTEM, segment=segment,
                            contact_ids=[c.pk for c in contacts])
        return segment


def test_list_shows_system_and_own_segments(web, tenant):
    make_list(tenant, "Board members")
    page = web.get(BASE)
    assert page.status_code == 200
    text = page.content.decode()
    assert "All contacts" in text and "Board members" in text
    found = web.get(f"{BASE}?q=board", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="segments-results")
    assert "Board members" in found.content.decode()
    assert "All contacts" not in found.content.decode()


def test_create_static_and_dynamic_with_rule_errors(web, tenant):
    make_contact(tenant, first_name="Ada", city="dubai")
    response = web.post(f"{BASE}new/", {"name": "Friends", "type": "STATIC",
                                        "refresh_frequency": "DAILY", "is_active": "on"})
    assert response.status_code == 302
    bad = web.post(f"{BASE}new/", {"name": "Dubai", "type": "DYNAMIC",
                                   "refresh_frequency": "DAILY", "is_active": "on",
                                   "rule": '{"rules": [{"field": "city", "operator": "nope"}]}'})
    assert bad.status_code == 422
    assert "rules[0].operator" in bad.content.decode()
    not_json = web.post(f"{BASE}new/", {"name": "Dubai", "type": "DYNAMIC",
                                        "refresh_frequency": "DAILY", "rule": "{"})
    assert not_json.status_code == 422
    good = web.post(f"{BASE}new/", {"name": "Dubai", "type": "DYNAMIC",
                                    "refresh_frequency": "HOURLY", "is_active": "on",
                                    "rule": '{"rules": [{"field": "city", "operator": "equals",'
                                            ' "value": "dubai"}]}'})
    assert good.status_code == 302
    with tenant_scope(tenant):
        segment = Segment.objects.get(name="Dubai")
    assert (segment.member_count, segment.refresh_frequency) == (1, "HOURLY")
    detail = web.get(good["Location"])
    assert detail.status_code == 200
    assert 'id="segment-growth"' in detail.content.decode()
    assert "Ada Haddad" in detail.content.decode()


def test_segment_page_members_export_and_removal(web, tenant):
    ada = make_contact(tenant, first_name="Ada", primary_email="ada@example.com")
    bo = make_contact(tenant, first_name="Bo")
    segment = make_list(tenant, contacts=[ada, bo])
    page = web.get(f"{BASE}{segment.pk}/")
    assert page.status_code == 200
    assert 'id="segment-member-count">2<' in page.content.decode()
    export = web.get(f"{BASE}{segment.pk}/export.csv")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert len(lines) == 3 and "ada@example.com" in body
    removed = web.post(f"{BASE}{segment.pk}/remove/", {"ids": [str(bo.pk)]})
    assert removed.status_code == 302
    assert member_ids(segment) == {str(ada.pk)}


def test_dynamic_refresh_from_the_page(web, tenant):
    with tenant_scope(tenant):
        segment = segment_create(tenant=tenant, actor=SYSTEM, data={
            "name": "Dubai", "type": "DYNAMIC", "rule": city_rule("dubai")})
    make_contact(tenant, first_name="Ada", city="dubai")
    response = web.post(f"{BASE}{segment.pk}/refresh/")
    assert response.status_code == 302
    assert len(member_ids(segment)) == 1
    page = web.get(f"{BASE}{segment.pk}/").content.decode()
    assert 'id="segment-refreshes"' in page


def test_viewer_sees_but_cannot_change(tenant, make_user):
    viewer = make_user("viewer@example.com")
    add_member(tenant, viewer, "viewer")
    client = signed_in(viewer, tenant)
    segment = make_list(tenant)
    assert client.get(f"{BASE}{segment.pk}/").status_code == 200
    assert client.get(f"{BASE}new/").status_code == 403
    assert client.post(f"{BASE}{segment.pk}/delete/").status_code == 403


def test_contacts_list_bulk_add_to_list(web, tenant):
    ada, bo = make_contact(tenant, first_name="Ada"), make_contact(tenant, first_name="Bo")
    segment = make_list(tenant)
    listing = web.get("/o/acme/people/contacts/").content.decode()
    assert 'id="bulk-segment"' in listing
    response = web.post("/o/acme/people/contacts/bulk/", {
        "action": "segment", "segment": str(segment.pk), "ids": [str(ada.pk), str(bo.pk)]})
    assert response.status_code == 302
    assert member_ids(segment) == {str(ada.pk), str(bo.pk)}


def test_import_adds_everyone_to_the_chosen_list(web, tenant):
    from tend.people.services.imports import (
        contact_import_configure,
        contact_import_create,
        contact_import_run,
    )

    existing = make_contact(tenant, first_name="Old", primary_email="old@example.com")
    segment = make_list(tenant, "Imported")
    csv = "First Name,Email\nLina,lina@example.com\nOmar,omar@example.com\n"
    with tenant_scope(tenant):
        imp = contact_import_create(tenant=tenant, actor=SYSTEM,
                                    file=SimpleUploadedFile("c.csv", csv.encode()))
    page = web.get(f"/o/acme/people/imports/{imp.pk}/mapping/")
    assert page.status_code == 200 and 'name="segment"' in page.content.decode()
    with tenant_scope(tenant):
        from tend.core.errors import ValidationFailed

        with pytest.raises(ValidationFailed):
            contact_import_configure(tenant=tenant, actor=SYSTEM, imp=imp,
                                     mapping=imp.mapping, segment_id=str(existing.pk))
        contact_import_configure(tenant=tenant, actor=SYSTEM, imp=imp, mapping=imp.mapping,
                                 segment_id=str(segment.pk))
        contact_import_run(tenant=tenant, imp=imp)
        segment.refresh_from_db()
    assert segment.member_count == 2
    assert str(existing.pk) not in member_ids(segment)
