import io
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.people.models import DuplicateCandidate
from tend.people.tests.helpers_merge import candidate, make


@pytest.fixture
def api(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def viewer_api(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return signed_in(user, tenant)


def test_candidates_list_filters_and_pages(api, tenant):
    people = [make(tenant, name) for name in ("Sarah", "Sara", "Sally", "Sal")]
    best = candidate(tenant, people[0], people[1], 97)
    low = candidate(tenant, people[2], people[3], 70)
    ignored = candidate(tenant, people[0], people[2], 88)
    with tenant_scope(tenant):
        DuplicateCandidate.objects.filter(pk=ignored.pk).update(resolution="IGNORED")
    body = api.get("/api/v1/duplicates?limit=1").json()
    assert [i["id"] for i in body["items"]] == [str(best.pk)]
    assert body["items"][0]["contact_a"]["display_name"] in ("Sarah Mitchell", "Sara Mitchell")
    second = api.get(f"/api/v1/duplicates?limit=1&cursor={body['next_cursor']}").json()
    assert ([i["id"] for i in second["items"]], second["next_cursor"]) == ([str(low.pk)], None)
    assert [i["score"] for i in api.get(
        "/api/v1/duplicates?resolution=ALL").json()["items"]] == [97, 88, 70]
    assert [i["score"] for i in api.get(
        "/api/v1/duplicates?min_score=80").json()["items"]] == [97]
    bad = api.get("/api/v1/duplicates?resolution=MAYBE&min_score=101")
    assert bad.status_code == 422
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["min_score", "resolution"]


def test_candidates_list_query_count_is_flat(api, tenant):
    people = [make(tenant, f"P{i}") for i in range(8)]
    candidate(tenant, people[0], people[1])
    api.get("/api/v1/duplicates")  # the first request also saves the session
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/duplicates")
    for i in range(2, 8, 2):
        candidate(tenant, people[i], people[i + 1])
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/duplicates").json()["items"]) == 4
    assert len(many.captured_queries) == len(few.captured_queries)


def test_resolve_and_permissions(api, viewer_api, tenant):
    pair = candidate(tenant, make(tenant, "A"), make(tenant, "B"))
    url = f"/api/v1/duplicates/{pair.pk}/resolve"
    assert viewer_api.post(url, {"resolution": "IGNORED"},
                           content_type="application/json").status_code == 403
    bad = api.post(url, {"resolution": "MERGED"}, content_type="application/json")
    assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (422, ["resolution"])
    ok = api.post(url, {"resolution": "NOT_DUPLICATE"}, content_type="application/json")
    assert (ok.status_code, ok.json()["resolution"]) == (200, "NOT_DUPLICATE")


def test_detect_starts_a_job(api, tenant, django_capture_on_commit_callbacks):
    make(tenant, "Sarah", email="sarah@example.com")
    make(tenant, "Sara", email="sarah+x@example.com")
    # The callbacks run after the request left its scope; in production they run at commit.
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/duplicates/detect")
    assert (response.status_code, response.json()["kind"]) == (202, "people.duplicates_detect")
    with tenant_scope(tenant):
        assert list(DuplicateCandidate.objects.values_list("match_type", "score")) == [
            ("EMAIL", 99)]


def test_preview_and_merge(api, viewer_api, tenant):
    winner = make(tenant, "Sarah", email="sarah@example.com")
    loser = make(tenant, "Sara", last="Mitchel", email="sara@example.org")
    preview = api.get(f"/api/v1/merge/preview?winner_id={winner.pk}&loser_id={loser.pk}")
    assert preview.status_code == 200
    last = next(r for r in preview.json()["fields"] if r["field"] == "last_name")
    assert last == {"field": "last_name", "label": "last name", "winner": "Mitchell",
                    "loser": "Mitchel", "default": "winner", "differs": True}
    body = {"winner_id": str(winner.pk), "loser_id": str(loser.pk),
            "field_choices": {"last_name": "loser"}}
    assert viewer_api.post("/api/v1/merge", body,
                           content_type="application/json").status_code == 403
    bad = api.post("/api/v1/merge", {**body, "field_choices": {"nope": "loser"}},
                   content_type="application/json")
    assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (
        422, ["field_choices.nope"])
    response = api.post("/api/v1/merge", body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Sarah Mitchel"
    again = api.post("/api/v1/merge", body, content_type="application/json")
    assert (again.status_code, [e["field"] for e in again.json()["errors"]]) == (
        422, ["loser_id"])
    missing = api.get("/api/v1/merge/preview?winner_id=x&loser_id=y")
    assert missing.status_code == 422


def test_privacy_export_and_erase(api, viewer_api, tenant):
    person = make(tenant, "Rania", last="Khalil", email="rania@example.com")
    before = api.get("/api/v1/contacts", {"q": "rania@example.com"}).json()["items"]
    assert [c["id"] for c in before] == [str(person.pk)]
    url = f"/api/v1/contacts/{person.pk}/privacy-export"
    assert viewer_api.get(url).status_code == 403
    response = api.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, "application/zip")
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "contact.json" in names and "manifest.json" in names
    erase = f"/api/v1/contacts/{person.pk}/erase"
    assert viewer_api.post(erase, {"confirmation": "ERASE"},
                           content_type="application/json").status_code == 403
    bad = api.post(erase, {"confirmation": "yes"}, content_type="application/json")
    assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (
        422, ["confirmation"])
    done = api.post(erase, {"confirmation": "ERASE"}, content_type="application/json")
    assert (done.status_code, done.json()["display_name"], done.json()["status"]) == (
        200, "Erased contact", "DELETED")
    for q in ("rania@example.com", "Rania"):
        found = api.get("/api/v1/contacts", {"q": q, "include_deleted": "true"})
        assert (found.status_code, found.json()["items"]) == (200, [])


def test_export_job_and_download(api, tenant, django_capture_on_commit_callbacks):
    person = make(tenant, "Rania", last="Khalil")
    with tenant_scope(tenant), django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/contacts/{person.pk}/privacy-export")
    assert started.status_code == 202
    download = api.get(f"/api/v1/privacy-exports/{started.json()['id']}")
    assert download.status_code == 200
    assert "contact.json" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()


def test_retention_get_put(api, viewer_api, tenant):
    assert api.get("/api/v1/privacy/retention").json() == {
        "enabled": False, "inactive_months": 24, "would_erase": 0}
    assert viewer_api.get("/api/v1/privacy/retention").status_code == 403
    bad = api.put("/api/v1/privacy/retention", {"enabled": True, "inactive_months": -1},
                  content_type="application/json")
    assert (bad.status_code, [e["field"] for e in bad.json()["errors"]]) == (
        422, ["inactive_months"])
    ok = api.put("/api/v1/privacy/retention", {"enabled": True, "inactive_months": 6},
                 content_type="application/json")
    assert ok.json() == {"enabled": True, "inactive_months": 6, "would_erase": 0}
