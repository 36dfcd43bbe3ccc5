"""Cursor pagination of list endpoints."""

import base64
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tend.core.api.base import PageParams, decode_cursor, encode_cursor, paginate
from tend.core.errors import ValidationFailed
from tend.core.models import ApiKey, Role
from tend.core.tenancy import tenant_scope
from tend.core.tests.apitools import make_key, signed_in

LIST = "/api/v1/api-keys"


@pytest.fixture
def session(tenant, owner):
    return signed_in(owner, tenant)


def _walk(client, limit):
    names, cursor, pages = [], None, 0
    while True:
        url = f"{LIST}?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        names += [item["name"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return names, pages


def test_pages_walk_every_row_once_newest_first(session, tenant, owner):
    for i in range(5):
        make_key(tenant, owner, ["tags.view"], name=f"key {i}")

    names, pages = _walk(session, 2)

    assert names == ["key 4", "key 3", "key 2", "key 1", "key 0"]
    assert pages == 3


def test_equal_timestamps_are_ordered_by_id(session, tenant, owner):
    keys = [make_key(tenant, owner, ["tags.view"], name=f"key {i}")[0] for i in range(5)]
    same = timezone.now() - timedelta(hours=1)
    with tenant_scope(tenant):
        ApiKey.objects.update(created_at=same)
    expected = [k.name for k in sorted(keys, key=lambda k: k.pk, reverse=True)]

    names, _ = _walk(session, 2)

    assert names == expected


def test_exact_multiple_of_the_limit_ends_with_null_cursor(session, tenant, owner):
    for i in range(4):
        make_key(tenant, owner, ["tags.view"], name=f"key {i}")
    first = session.get(f"{LIST}?limit=4").json()
    assert (len(first["items"]), first["next_cursor"]) == (4, None)


def test_rows_added_between_pages_do_not_shift_the_next_page(session, tenant, owner):
    for i in range(4):
        make_key(tenant, owner, ["tags.view"], name=f"key {i}")
    first = session.get(f"{LIST}?limit=2").json()
    make_key(tenant, owner, ["tags.view"], name="late")

    second = session.get(f"{LIST}?limit=2&cursor={first['next_cursor']}").json()

    assert [i["name"] for i in first["items"]] == ["key 3", "key 2"]
    assert [i["name"] for i in second["items"]] == ["key 1", "key 0"]


def test_default_limit_is_50(session, tenant, owner):
    for i in range(51):
        make_key(tenant, owner, ["tags.view"], name=f"key {i}")
    body = session.get(LIST).json()
    assert len(body["items"]) == 50
    assert body["next_cursor"] is not None


@pytest.mark.parametrize("limit", ["0", "201", "-1", "lots"])
def test_limit_out_of_range_is_422(session, limit):
    response = session.get(f"{LIST}?limit={limit}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["limit"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not base64 at all!",
    _b64(b"not json"),
    _b64(b'{"a": 1}'),
    _b64(b'["2026-01-01T00:00:00+00:00"]'),
    _b64(b"[null, null]"),
    _b64(b'[[1], "x"]'),
    _b64(b'["yesterday", "0190"]'),
])
def test_foreign_cursors_are_422(session, tenant, owner, cursor):
    make_key(tenant, owner, ["tags.view"])
    response = session.get(f"{LIST}?cursor={cursor}")
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [
        {"field": "cursor", "loc": ["cursor"], "message": "Not a cursor from this list."}]


def test_query_count_does_not_grow_with_the_page(session, tenant, owner):
    make_key(tenant, owner, ["tags.view"], name="one")
    session.get(LIST)  # warm the session and caches
    with CaptureQueriesContext(connection) as small:
        assert session.get(LIST).status_code == 200
    for i in range(10):
        make_key(tenant, owner, ["tags.view"], name=f"more {i}")
    with CaptureQueriesContext(connection) as large:
        body = session.get(LIST).json()
    assert len(body["items"]) == 11
    assert len(large.captured_queries) == len(small.captured_queries)


def test_cursor_round_trip_and_ascending_order(tenant):
    assert decode_cursor(encode_cursor(["a", 2]), 2) == ["a", 2]
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor(["a", 2]), 3)
    # Text no database can compare: a NUL, a lone surrogate (valid JSON, not valid UTF-8).
    for bad in ('["a\\u0000b",2]', '["\\ud800",2]'):
        forged = base64.urlsafe_b64encode(bad.encode()).decode().rstrip("=")
        with pytest.raises(ValidationFailed):
            decode_cursor(forged, 2)
    with tenant_scope(tenant):
        roles = Role.objects.filter(tenant=tenant)
        keys, cursor = [], None
        while True:
            page = paginate(roles, PageParams(limit=4, cursor=cursor), ordering=("key", "id"))
            keys += [role.key for role in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert keys == ["admin", "affiliate", "agent", "manager", "owner", "viewer"]


def test_the_keyset_condition_leads_with_a_plain_range_on_the_first_column():
    from tend.core.api.base import _after

    condition = _after(["-created_at", "-id"], ["2026-01-01", "x"])
    assert condition.children[0] == ("created_at__lte", "2026-01-01")
    ascending = _after(["name", "id"], ["b", "x"])
    assert ascending.children[0] == ("name__gte", "b")
    assert _after(["id"], ["x"]).children == [("id__gt", "x")]
