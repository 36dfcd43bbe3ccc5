import io
import zipfile

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.core.models import Job
from tend.core.tenancy import system_scope, tenant_scope
from tend.core.tests.apitools import add_member, signed_in
from tend.people.tests.helpers_merge import candidate, make


def pair(tenant, a, b, score=90):
    """A candidate as the detection job makes it for same-name, same-city people."""
    return candidate(tenant, a, b, score, matched_fields=("name", "city"))


@pytest.fixture
def client(tenant, owner):
    return signed_in(owner, tenant)


@pytest.fixture
def viewer(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    return signed_in(user, tenant)


URL = "/o/acme/people/duplicates/"


def test_review_page_lists_pairs_and_needs_permission(client, viewer, tenant):
    candidate = pair(tenant, make(tenant, "Sarah"), make(tenant, "Sara"), 96)
    response = client.get(URL)
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="duplicate-{candidate.pk}"' in body
    assert "Sarah Mitchell" in body and "Sara Mitchell" in body and ">96<" in body
    assert "name, city" in body
    assert viewer.get(URL).status_code == 403


def test_review_page_query_count_is_flat(client, tenant):
    people = [make(tenant, f"P{i}") for i in range(8)]
    pair(tenant, people[0], people[1])
    client.get(URL)
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for i in range(2, 8, 2):
        pair(tenant, people[i], people[i + 1])
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).content.decode().count('id="duplicate-') == 4
    assert len(many.captured_queries) == len(few.captured_queries)


def test_resolve_with_htmx_swaps_the_row(client, tenant):
    candidate = pair(tenant, make(tenant, "A"), make(tenant, "B"))
    url = f"/o/acme/people/duplicates/{candidate.pk}/resolve/"
    response = client.post(url, {"resolution": "NOT_DUPLICATE"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Not a duplicate" in response.content.decode()
    assert "Review again" in response.content.decode()
    bad = client.post(url, {"resolution": "WHATEVER"})
    assert bad.status_code == 422
    with tenant_scope(tenant):
        candidate.refresh_from_db()
    assert candidate.resolution == "NOT_DUPLICATE"


def test_run_detection_redirects_to_the_job(client, tenant):
    response = client.post("/o/acme/people/duplicates/detect/")
    with system_scope():
        job = Job.objects.get(kind="people.duplicates_detect")
    assert response.status_code == 302
    assert response["Location"] == f"/o/acme/settings/jobs/{job.pk}/"


def test_merge_screen_preview_and_confirm(client, viewer, tenant):
    winner = make(tenant, "Sarah", email="sarah@example.com", city="")
    loser = make(tenant, "Sara", last="Mitchel", email="sara@example.org")
    url = f"/o/acme/people/merge/{winner.pk}/{loser.pk}/"
    assert viewer.get(url).status_code == 403
    page = client.get(url).content.decode()
    assert 'name="choice__last_name" value="loser"' in page
    assert 'id="merge-confirm"' not in page
    # city defaults to the loser's value (the winner has none)
    assert 'name="choice__city" value="loser" checked' in page
    preview = client.post(url, {"action": "preview", "choice__last_name": "loser",
                                "choice__city": "loser"})
    body = preview.content.decode()
    assert 'id="merge-confirm"' in body
    assert '<td class="result"><bdi>Mitchel</bdi></td>' in body
    done = client.post(url, {"action": "merge", "choice__last_name": "loser",
                             "choice__city": "loser"})
    assert done.status_code == 302
    assert done["Location"] == f"/o/acme/people/contacts/{winner.pk}/"
    with tenant_scope(tenant):
        winner.refresh_from_db()
        loser.refresh_from_db()
    assert (winner.display_name, winner.city, loser.status) == ("Sarah Mitchel", "London",
                                                                "MERGED")
    again = client.post(url, {"action": "merge"})
    assert again.status_code == 422
    assert "cannot be merged" in again.content.decode()


def test_privacy_page_export_and_erase(client, viewer, tenant):
    person = make(tenant, "Rania", last="Khalil", email="rania@example.com")
    url = f"/o/acme/people/contacts/{person.pk}/privacy/"
    assert viewer.get(url).status_code == 403
    assert client.get(url).status_code == 200
    export = client.get(url + "export/")
    assert export["Content-Type"] == "application/zip"
    assert "contact.json" in zipfile.ZipFile(io.BytesIO(export.content)).namelist()
    wrong = client.post(url, {"confirmation": "erase"})
    assert wrong.status_code == 422
    assert "Type ERASE to confirm." in wrong.content.decode()
    done = client.post(url, {"confirmation": "ERASE"})
    assert done.status_code == 302
    with tenant_scope(tenant):
        person.refresh_from_db()
    assert (person.display_name, person.primary_email, person.status) == (
        "Erased contact", "", "DELETED")
    assert 'id="privacy-erased"' in client.get(url).content.decode()


def test_retention_page_shows_dry_run_and_saves(client, viewer, tenant):
    url = "/o/acme/people/privacy/retention/"
    assert viewer.get(url).status_code == 403
    page = client.get(url).content.decode()
    assert "0 contacts have had no activity for 24 months" in page
    bad = client.post(url, {"enabled": "on", "inactive_months": "0"})
    assert bad.status_code == 422
    ok = client.post(url, {"enabled": "on", "inactive_months": "6"})
    assert ok.status_code == 302
    with system_scope():
        tenant.refresh_from_db()
    assert tenant.settings["retention"] == {"enabled": True, "inactive_months": 6}
    assert "for 6 months" in client.get(url).content.decode()


def test_contact_page_panels_link_duplicates_and_privacy(client, viewer, tenant):
    sarah, sara = make(tenant, "Sarah"), make(tenant, "Sara")
    pair(tenant, sarah, sara, 93)
    page = client.get(f"/o/acme/people/contacts/{sarah.pk}/").content.decode()
    assert f'href="/o/acme/people/merge/{sarah.pk}/{sara.pk}/"' in page
    assert f'href="/o/acme/people/contacts/{sarah.pk}/privacy/"' in page
    seen_by_viewer = viewer.get(f"/o/acme/people/contacts/{sarah.pk}/").content.decode()
    assert "/merge/" not in seen_by_viewer and "/privacy/" not in seen_by_viewer
