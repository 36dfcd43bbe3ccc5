"""Pages: the import wizard (upload, mapping, preview, run, report) and export."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.services.tags import tag_create
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member
from tend.core.tests.apitools import signed_in
from tend.people.models import Contact, ContactImport, ContactTag
from tend.people.services.contacts import contact_create

SYSTEM = Actor.system()


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


def url(name, **kw):
    from django.urls import reverse

    return reverse(f"people:{name}", kwargs={"org_slug": "acme", **kw})


CSV = "E-mail,Vorname,Stadt\nann@example.com,Ann,Berlin\nnope,Bob,Paris\n"


def test_wizard(client, tenant, django_capture_on_commit_callbacks):
    with tenant_scope(tenant):
        vip = tag_create(tenant=tenant, actor=SYSTEM, name="VIP")
    response = client.get(url("imports-list"))
    assert response.status_code == 200
    assert b"No imports yet." in response.content
    response = client.post(url("imports-list"),
                           {"file": SimpleUploadedFile("people.csv", CSV.encode())})
    with tenant_scope(tenant):
        imp = ContactImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("imports-mapping", import_id=imp.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'id="col_0"' in page and '<option value="email" selected>' in page
    # A bad mapping shows field errors next to the column.
    response = client.post(url("imports-mapping", import_id=imp.pk),
                           {"col_0": "email", "col_1": "city", "col_2": "city",
                            "mode": "UPDATE"})
    assert response.status_code == 422
    assert "Column “Vorname” already goes into this field." in response.content.decode()
    response = client.post(url("imports-mapping", import_id=imp.pk),
                           {"col_0": "email", "col_1": "first_name", "col_2": "city",
                            "mode": "UPDATE", "tags": [str(vip.pk)]})
    assert response["Location"] == url("imports-preview", import_id=imp.pk)
    page = client.get(response["Location"]).content.decode()
    assert "Rows with errors: 1." in page
    assert "email: “nope” is not valid." in page
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("imports-preview", import_id=imp.pk))
    assert response["Location"] == url("imports-detail", import_id=imp.pk)
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="SUCCEEDED"' in page
    assert 'data-count="created"><dt class="stat-label">Created</dt><dd class="stat-value" ' \
           'style="margin:0">1</dd>' in page
    assert 'id="import-errors-download"' in page
    errors = b"".join(client.get(url("imports-errors", import_id=imp.pk)).streaming_content)
    assert errors.decode("utf-8-sig").splitlines()[1] == (
        "2,nope,Bob,Paris,email: “nope” is not valid.")
    with tenant_scope(tenant):
        ann = Contact.objects.get()
        assert (ann.first_name, ann.city) == ("Ann", "Berlin")
        assert list(ContactTag.objects.values_list("tag__name", flat=True)) == ["VIP"]


def test_bad_upload_shows_a_form_error(client):
    response = client.post(url("imports-list"),
                           {"file": SimpleUploadedFile("x.xlsx", b"not excel")})
    assert response.status_code == 422
    assert "This file is not an Excel (.xlsx) workbook." in response.content.decode()
    response = client.post(url("imports-list"), {})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_viewers_are_refused(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    viewer = signed_in(user, tenant)
    assert viewer.get(url("imports-list")).status_code == 403
    assert viewer.get(url("exports-create")).status_code == 403


@pytest.fixture
def contacts(tenant):
    with tenant_scope(tenant):
        a = contact_create(tenant=tenant, actor=SYSTEM,
                           data={"first_name": "=1+2", "last_name": "Evil",
                                 "lifecycle_stage": "LEAD"},
                           emails=["evil@example.com", "second@example.com"],
                           phones=["+14155550100"])
        b = contact_create(tenant=tenant, actor=SYSTEM,
                           data={"first_name": "Good", "lifecycle_stage": "CUSTOMER"},
                           emails=["good@example.com"])
    return a, b


def test_export_csv_escapes_and_filters(client, contacts):
    response = client.get(url("exports-create") + "?lifecycle_stage=LEAD")
    assert "One contact matches." in response.content.decode()
    response = client.post(url("exports-create"), {"format": "csv", "lifecycle_stage": "LEAD"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content)
                                       .decode("utf-8-sig"))))
    assert rows[0][:8] == ["Tend id", "First name", "Last name", "Display name", "Email",
                           "Other emails", "Phone", "Other phones"]
    assert rows[1][1:8] == ["'=1+2", "Evil", "", "evil@example.com", "second@example.com",
                            "'+14155550100", ""]
    assert len(rows) == 2


def test_export_xlsx_and_vcard(client, tenant, contacts):
    response = client.post(url("exports-create"), {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert sorted(r[1] for r in values[1:]) == ["'=1+2", "Good"]
    response = client.post(url("exports-create"), {"format": "vcf",
                                                   "ids": [str(contacts[1].pk)]})
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("BEGIN:VCARD\r\nVERSION:3.0\r\nN:;Good;;;\r\nFN:Good\r\n"
                           "EMAIL;TYPE=INTERNET;TYPE=PREF:good@example.com\r\n")
    with tenant_scope(tenant):
        assert list(AuditLog.objects.filter(action="contacts.exported")
                    .values_list("changes", flat=True)) == [
            {"format": "vcf", "count": 1}, {"format": "xlsx", "count": 2}]


def test_round_trip(client, tenant, contacts, django_capture_on_commit_callbacks):
    response = client.post(url("exports-create"), {"format": "csv"})
    data = b"".join(response.streaming_content)
    response = client.post(url("imports-list"),
                           {"file": SimpleUploadedFile("contacts.csv", data)})
    with tenant_scope(tenant):
        imp = ContactImport.objects.get()
        assert imp.detected_preset == "tend"
        assert set(imp.mapping.values()) >= {"id", "email", "phone", "first_name",
                                             "lifecycle_stage", "tags"}
    client.post(url("imports-mapping", import_id=imp.pk),
                {**{f"col_{i}": imp.mapping.get(h, "") for i, h in enumerate(imp.headers)},
                 "mode": "UPDATE"})
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        client.post(url("imports-preview", import_id=imp.pk))
    with tenant_scope(tenant):
        imp.refresh_from_db()
        # The escaping quote is taken back on import: nothing changes.
        assert imp.counts == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0,
                              "merged": 0, "errors": 0}
        assert Contact.objects.count() == 2
        evil = Contact.objects.get(pk=contacts[0].pk)
        assert (evil.first_name, evil.primary_email, evil.primary_phone) == (
            "=1+2", "evil@example.com", "+14155550100")
