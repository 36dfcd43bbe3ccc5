"""The tenant-isolation suite: every API route, every kind of principal, the other
organization's real ids. See `isolation.py` for the registry and how to add entries."""

import hashlib
import json
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from ninja.utils import normalize_path

from tend.api import api
from tend.core.db_walls import tenant_tables
from tend.core.models import Tenant, User
from tend.core.tenancy import system_scope
from tend.core.tests.apitools import bearer, signed_in
from tend.core.tests.isolation import API_PREFIX, Entry, World, build_world, entries

DENIED = frozenset({401, 403, 404})


def api_routes() -> list[tuple[str, str]]:
    """(METHOD, /api/v1/path/{param}) for every operation the API serves."""
    routes = set()
    for bound in api._get_bound_routers():
        for path, path_view in bound.path_operations.items():
            full = normalize_path("/".join([API_PREFIX, bound.prefix, path]))
            for operation in path_view.operations:
                routes.update((method.upper(), full) for method in operation.methods)
    return sorted(routes)


ROUTES = api_routes()


# --- database fingerprints ---------------------------------------------------------------------


def _db(value):
    return Tenant._meta.pk.get_db_prep_value(value, connection)


def _rows(sql: str, params: list) -> str:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = sorted(repr(tuple(row)) for row in cursor.fetchall())
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def victim_fingerprint(world: World) -> dict[str, str]:
    """A hash of every row the victim owns, its organization row and its members' accounts."""
    victim = world.victim
    tenant_id = _db(victim.tenant.pk)
    with system_scope():
        prints = {
            table: _rows(f'SELECT * FROM "{table}" WHERE tenant_id = %s', [tenant_id])
            for table in tenant_tables()
        }
        prints["core_tenant"] = _rows('SELECT * FROM "core_tenant" WHERE id = %s', [tenant_id])
        users = [_db(victim.owner.pk), _db(victim.member.pk)]
        prints["core_user"] = _rows(
            'SELECT * FROM "core_user" WHERE id IN (%s, %s)', users
        )
    return prints


def row_counts() -> dict[str, int]:
    counts = {}
    with system_scope(), connection.cursor() as cursor:
        for table in [*tenant_tables(), "core_tenant", "core_user"]:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


# --- calling a route ---------------------------------------------------------------------------


def principals(world: World) -> list[tuple[str, Client, dict[str, str]]]:
    return [
        ("owner session", signed_in(world.home_owner, world.home), {}),
        ("viewer session", signed_in(world.home_viewer, world.home), {}),
        ("owner session naming the victim organization",
         signed_in(world.home_owner, world.home), {"X-Organization": world.victim.tenant.slug}),
        ("API key with few permissions", Client(), bearer(world.home_key_few)),
        ("anonymous", Client(), {}),
        ("other organization's full API key", Client(), bearer(world.home_key_full)),
        ("full API key naming the victim organization", Client(),
         {**bearer(world.home_key_full), "X-Organization": world.victim.tenant.slug}),
    ]


def call(client: Client, entry: Entry, world: World, headers: dict[str, str]):
    victim = world.victim
    params = entry.path_params(victim) if entry.path_params else {}
    url = entry.path.format(**{k: str(v) for k, v in params.items()})
    if entry.query:
        url += "?" + urlencode(entry.query(victim), doseq=True)
    body = entry.body(victim) if entry.body else None
    return client.generic(
        entry.method, url,
        data=json.dumps(body, default=str) if body is not None else "",
        content_type="application/json", headers=headers,
    )


def leaked(response, canaries: list[str]) -> list[str]:
    text = (response.content.decode("utf-8", "replace") + str(dict(response.headers))).lower()
    return [c for c in canaries if c.lower() in text]


# --- the suite ---------------------------------------------------------------------------------


def test_routes_are_enumerated_from_the_api():
    schema_routes = {
        (method.upper(), path)
        for path, operations in api.get_openapi_schema()["paths"].items()
        for method in operations
    }
    assert schema_routes <= set(ROUTES)
    assert ("GET", "/api/v1/me") in ROUTES
    assert ("POST", "/api/v1/api-keys/{key_id}/revoke") in ROUTES


def test_every_route_has_an_isolation_entry():
    registered = entries()
    missing = [f"{method} {path}" for method, path in ROUTES if (method, path) not in registered]
    assert missing == [], "add entries in an isolation_<area>.py module (see isolation.py)"


def test_every_entry_names_a_real_route():
    stale = [f"{m} {p}" for m, p in entries() if (m, p) not in set(ROUTES)]
    assert stale == []


def test_canaries_are_visible_to_the_victim_itself(db):
    """The canary check can fail: the victim's own owner sees its canaries."""
    world = build_world()
    client = signed_in(world.victim.owner, world.victim.tenant)
    response = client.get(f"/api/v1/api-keys/{world.victim.api_key.pk}")
    assert response.status_code == 200
    # the key's name and its creator's email
    assert leaked(response, world.victim.canaries) == [world.victim.canaries[0],
                                                       world.victim.api_key.name]


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_is_isolated(db, route):
    entry = entries().get(route)
    if entry is None:
        pytest.fail(f"no isolation entry for {route[0]} {route[1]}")
    world = build_world()
    victim = world.victim
    failures = []

    for name, client, headers in principals(world):
        victim_before = victim_fingerprint(world)
        counts_before = row_counts()

        response = call(client, entry, world, headers)

        status = response.status_code
        if name == "anonymous":
            allowed = frozenset({401})
        elif name.endswith("naming the victim organization"):
            allowed = frozenset({403})
        elif entry.targets_victim:
            allowed = DENIED | entry.also_ok
        else:
            allowed = frozenset(range(200, 500))
        if status not in allowed:
            failures.append(f"{name}: status {status} not in {sorted(allowed)[:6]}: "
                            f"{response.content[:300]!r}")
        if found := leaked(response, victim.canaries):
            failures.append(f"{name}: response shows the victim's {found}")
        if victim_fingerprint(world) != victim_before:
            failures.append(f"{name}: the victim's data changed")
        if status >= 400 and row_counts() != counts_before:
            failures.append(f"{name}: a refused request changed row counts")

    if entry.control:
        response = call(signed_in(victim.owner, victim.tenant), entry, world, {})
        if response.status_code not in entry.control_status:
            failures.append(f"control (victim's owner): status {response.status_code}, "
                            f"expected {sorted(entry.control_status)}: "
                            f"{response.content[:300]!r}")
    assert failures == []


def test_row_counts_notice_a_change(db):
    """The fingerprints are not blind: a new row and a changed row are both seen."""
    world = build_world()
    before_counts, before_victim = row_counts(), victim_fingerprint(world)
    User.objects.create_user(email="someone@else.example", password="x")
    assert row_counts() != before_counts
    Tenant.objects.filter(pk=world.victim.tenant.pk).update(name="changed")
    assert victim_fingerprint(world) != before_victim
