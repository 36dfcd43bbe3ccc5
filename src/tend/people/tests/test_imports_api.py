"""API: upload, mapping, preview, start, report, error file; exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tend.core.actors import Actor
from tend.core.models import Job
from tend.core.tenancy import tenant_scope
from tend.core.tests.accounts_helpers import add_member
from tend.core.tests.apitools import signed_in
from tend.people.models import Contact, ContactImport
from tend.people.services.contacts import contact_create

SYSTEM = Actor.system()
BASE = "/api/v1/people/imports"


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def viewer_api(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return signed_in(user, tenant)


def upload(client, text: str, name: str = "people.csv"):
    return client.post(BASE, {"file": SimpleUploadedFile(name, text.encode())})


def problem(response, status):
    assert response.status_code == status, response.content
    return {e["field"]: e["message"] for e in response.json()["errors"]}


CSV = ("Email Address,First Name,Last Name,TAGS,MEMBER_RATING,OPTIN_TIME\n"
       "ann@example.com,Ann,Lee,\"\"\"golf\"\"\",2,2024-01-01\n"
       "bad-email,Bob,Ray,,2,2024-01-01\n")


def test_the_whole_flow(api, tenant, django_capture_on_commit_callbacks):
    response = upload(api, CSV)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["format"], body["detected_preset"], body["status"], body["delimiter"]) == (
        "csv", "mailchimp", "UPLOADED", ",")
    assert body["mapping"] == {"Email Address": "email", "First Name": "first_name",
                               "Last Name": "last_name", "TAGS": "tags"}
    url = f"{BASE}/{body['id']}"
    response = api.patch(url, {"mode": "FILL_BLANKS"}, content_type="application/json")
    assert (response.status_code, response.json()["mode"], response.json()["status"]) == (
        200, "FILL_BLANKS", "MAPPED")
    preview = api.get(f"{url}/preview").json()
    assert preview == {"preset": "mailchimp", "preset_label": "Mailchimp audience export",
                       "rows": [
                           {"row": 1, "errors": [], "values": {
                               "first_name": "Ann", "last_name": "Lee",
                               "email": ["ann@example.com"], "tags": ["golf"]}},
                           {"row": 2, "errors": ["email: “bad-email” is not valid."],
                            "values": {"first_name": "Bob", "last_name": "Ray"}}]}
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{url}/start")
    assert response.status_code == 202
    job_id = response.json()["id"]
    report = api.get(url).json()
    assert (report["status"], report["job_id"], report["counts"]) == (
        "SUCCEEDED", job_id, {"created": 1, "updated": 0, "unchanged": 0, "skipped": 0,
                              "merged": 0, "errors": 1})
    errors = b"".join(api.get(f"{url}/errors").streaming_content).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(errors))) == [
        ["row", "Email Address", "First Name", "Last Name", "TAGS", "MEMBER_RATING",
         "OPTIN_TIME", "errors"],
        ["2", "bad-email", "Bob", "Ray", "", "2", "2024-01-01",
         "email: “bad-email” is not valid."]]
    assert api.post(f"{url}/start").status_code == 409
    listing = api.get(BASE).json()
    assert [i["id"] for i in listing["items"]] == [body["id"]]


def test_bad_uploads_are_field_errors(api):
    assert problem(upload(api, "", "x.csv"), 422) == {"file": "The file is empty."}
    assert problem(upload(api, "hello", "x.xlsx"), 422) == {
        "file": "This file is not an Excel (.xlsx) workbook."}
    response = api.post(BASE, {})
    assert response.status_code in (400, 422)


def test_bad_mapping_is_a_field_error(api, tenant):
    imp = upload(api, "Email,City\na@example.com,Rome\n").json()
    response = api.patch(f"{BASE}/{imp['id']}", {"mapping": {"City": "planet"}},
                         content_type="application/json")
    assert problem(response, 422) == {"mapping.City": "Choose a field to import this column into."}
    response = api.patch(f"{BASE}/{imp['id']}", {"colour": "red"},
                         content_type="application/json")
    assert response.status_code == 422


def test_viewers_cannot_import_or_export(viewer_api):
    assert upload(viewer_api, "Email\na@example.com\n").status_code == 403
    assert viewer_api.get(BASE).status_code == 403
    response = viewer_api.post("/api/v1/people/exports", {"format": "csv"},
                               content_type="application/json")
    assert response.status_code == 403


def test_unknown_import_is_404(api):
    assert api.get(f"{BASE}/01890000-0000-7000-8000-000000000000").status_code == 404


def test_export_job_and_download(api, tenant, owner, django_capture_on_commit_callbacks):
    with tenant_scope(tenant):
        contact_create(tenant=tenant, actor=SYSTEM, data={"first_name": "=SUM(A1)"},
                       emails=["x@example.com"])
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/people/exports", {"format": "csv"},
                            content_type="application/json")
    assert response.status_code == 202
    job_id = response.json()["id"]
    with tenant_scope(tenant):
        job = Job.objects.get(pk=job_id)
    assert (job.status, job.result["count"]) == ("succeeded", 1)
    response = api.get(f"/api/v1/people/exports/{job_id}/file")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content)
                                       .decode("utf-8-sig"))))
    assert rows[1][1:5] == ["'=SUM(A1)", "", "", "x@example.com"]
    response = api.post("/api/v1/people/exports", {"format": "pdf"},
                        content_type="application/json")
    assert problem(response, 422) == {"format": "Choose CSV, XLSX or vCard."}
    response = api.post("/api/v1/people/exports", {"filters": {"colour": "red"}},
                        content_type="application/json")
    assert problem(response, 422) == {"colour": "Unknown filter."}


def test_import_list_query_count(api, tenant, owner, django_assert_max_num_queries):
    for n in range(3):
        upload(api, f"Email\nperson{n}@example.com\n")
    with tenant_scope(tenant):
        assert ContactImport.objects.count() == 3
        assert Contact.objects.count() == 0
    with django_assert_max_num_queries(10):
        assert len(api.get(BASE).json()["items"]) == 3
