"""Settings → Audit log: filters, paging, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tend.core.actors import Actor
from tend.core.models import AuditLog
from tend.core.selectors.access import actor_for_membership
from tend.core.services.audit import audit_record, csv_cell
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import add_member, membership_of, signed_in
from tend.core.views import audit as audit_views

pytestmark = pytest.mark.django_db


def _url(name, tenant):
    return reverse(f"core:{name}", kwargs={"org_slug": tenant.slug})


def _record(tenant, action, actor=None, **kw):
    with tenant_scope(tenant):
        return audit_record(tenant=tenant, actor=actor or Actor.system(), action=action, **kw)


@pytest.fixture
def admin(tenant, make_user):
    user = make_user("admin@example.com")
    add_member(tenant, user, "admin")
    return user


@pytest.fixture
def manager(tenant, make_user):
    user = make_user("manager@example.com")
    add_member(tenant, user, "manager")
    return user


def _seqs(response):
    return [e.seq for e in response.context["entries"]]


def test_list_shows_newest_first(tenant, admin):
    _record(tenant, "tag.created", entity_type="tag", entity_id="t1")
    _record(tenant, "tag.deleted", entity_type="tag", entity_id="t1")
    response = signed_in(admin).get(_url("audit-list", tenant))
    assert response.status_code == 200
    assert _seqs(response) == [3, 2, 1]
    assert "tag.deleted" in response.content.decode()


def test_filters(tenant, owner, admin):
    owner_actor = actor_for_membership(membership_of(tenant, owner))
    _record(tenant, "tag.created", owner_actor, entity_type="tag", entity_id="t1")   # 2
    _record(tenant, "tag.updated", owner_actor, entity_type="tag", entity_id="t2")   # 3
    _record(tenant, "role.created", entity_type="role", entity_id="r1")              # 4
    client = signed_in(admin)
    url = _url("audit-list", tenant)
    assert _seqs(client.get(url, {"actor": str(owner.pk)})) == [3, 2]
    assert _seqs(client.get(url, {"actor": "system"})) == [4, 1]
    assert _seqs(client.get(url, {"action": "tag."})) == [3, 2]
    assert _seqs(client.get(url, {"action": "tag.created"})) == [2]
    assert _seqs(client.get(url, {"entity_type": "role"})) == [4]
    assert _seqs(client.get(url, {"entity_type": "tag", "entity_id": "t2"})) == [3]


def test_date_range_uses_the_organizations_days(tenant, admin, monkeypatch):
    # given an entry at 21:30 UTC on 1 March, which is 01:30 on 2 March in Dubai (UTC+4)
    tenant.time_zone = "Asia/Dubai"
    tenant.save()
    with monkeypatch.context() as patch:
        patch.setattr("django.utils.timezone.now",
                      lambda: datetime(2025, 3, 1, 21, 30, tzinfo=UTC))
        _record(tenant, "x.y")
    client = signed_in(admin)
    url = _url("audit-list", tenant)
    # then it belongs to 2 March
    assert _seqs(client.get(url, {"date_from": "2025-03-02", "date_to": "2025-03-02"})) == [2]
    assert _seqs(client.get(url, {"date_from": "2025-03-01", "date_to": "2025-03-01"})) == []
    assert _seqs(client.get(url, {"date_to": "2025-03-02"})) == [2]


def test_bad_filters_are_422_with_field_errors(tenant, admin):
    client = signed_in(admin)
    url = _url("audit-list", tenant)
    response = client.get(url, {"date_from": "yesterday"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"date_from": ["Enter a valid date."]}
    response = client.get(url, {"date_from": "2025-02-02", "date_to": "2025-02-01"})
    assert response.status_code == 422
    assert response.context["form"].errors == {"date_to": ["The end is before the start."]}


def test_pages_continue_below_the_last_entry(tenant, admin, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 2)
    for i in range(4):
        _record(tenant, "tag.created", entity_id=f"t{i}")  # seqs 2..5
    client = signed_in(admin)
    first = client.get(_url("audit-list", tenant), {"action": "tag.created"})
    assert _seqs(first) == [5, 4]
    assert first.context["older_url"] == "?action=tag.created&before=4"
    second = client.get(_url("audit-list", tenant) + first.context["older_url"])
    assert _seqs(second) == [3, 2]
    assert second.context["older_url"] == ""


def test_list_query_count_does_not_grow_with_entries(tenant, admin):
    client = signed_in(admin)
    url = _url("audit-list", tenant)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(20):
        _record(tenant, "tag.created", entity_id=f"t{i}")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_manager_may_view_but_not_export(tenant, manager):
    client = signed_in(manager)
    assert client.get(_url("audit-list", tenant)).status_code == 200
    assert client.get(_url("audit-export", tenant)).status_code == 403


def test_viewer_may_not_view(tenant, make_user):
    user = make_user("viewer@example.com")
    add_member(tenant, user, "viewer")
    assert signed_in(user).get(_url("audit-list", tenant)).status_code == 403


def test_only_this_tenants_entries_are_listed(tenant, admin, make_tenant):
    other = make_tenant("Other", slug="other")
    _record(other, "canary.secret")
    response = signed_in(admin).get(_url("audit-list", tenant))
    assert _seqs(response) == [1]
    assert "canary.secret" not in response.content.decode()


# --- CSV -------------------------------------------------------------------------------------


def test_csv_cell_defuses_formulas():
    assert [csv_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx", "ok", None, 5,
                                  "a=b")] == [
        "'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "ok", "", "5", "a=b",
    ]


def _csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_streams_filtered_rows_escaped_and_audits_itself(tenant, owner):
    owner_actor = actor_for_membership(membership_of(tenant, owner))
    _record(tenant, "tag.created", owner_actor, entity_type="tag", entity_id="=cmd|' /C calc'!A0",
            changes={"name": "=HYPERLINK(\"http://evil\")"})
    _record(tenant, "role.created")
    response = signed_in(owner).get(_url("audit-export", tenant), {"action": "tag."})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="audit-acme.csv"'
    rows = _csv(response)
    assert rows[0] == ["seq", "created_at", "actor_type", "actor_id", "actor", "action",
                       "entity_type", "entity_id", "changes", "ip", "user_agent", "prev_hash",
                       "hash"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row["seq"], row["actor"], row["action"], row["entity_id"]) == (
        "2", "owner@example.com", "tag.created", "'=cmd|' /C calc'!A0"
    )
    assert row["changes"] == '{"name": "=HYPERLINK(\\"http://evil\\")"}'
    with tenant_scope(tenant):
        last = AuditLog.objects.order_by("-seq").first()
    assert (last.action, last.actor_id, last.changes) == (
        "audit.exported", str(owner.pk), {"filters": {"action": "tag."}}
    )


def test_export_with_bad_filters_is_422(tenant, owner):
    response = signed_in(owner).get(_url("audit-export", tenant), {"date_to": "nope"})
    assert response.status_code == 422
