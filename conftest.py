"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.db import connection

from tend.core.actors import Actor
from tend.core.tenancy import system_scope, tenant_scope


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API keeps an event loop running in the main
    thread from the first browser test to the end of the session, which code that starts its
    own loop (asyncio.run) must not meet. The sort is stable, so pytest-django's ordering of
    the rest is kept."""
    items.sort(key=lambda item: "chromium" in getattr(item, "fixturenames", ()))


@pytest.fixture
def system_actor() -> Actor:
    return Actor.system()


@pytest.fixture
def make_user(db):
    from tend.core.services.tenants import user_create

    counter = iter(range(1, 10_000))

    def _make(email: str | None = None, password: str = "correct horse battery", **kw):
        return user_create(email=email or f"user{next(counter)}@example.com",
                           password=password, **kw)

    return _make


@pytest.fixture
def make_tenant(db, make_user):
    from tend.core.services.tenants import tenant_create

    def _make(name: str = "Acme", slug: str = "", owner=None, **kw):
        with system_scope():
            return tenant_create(name=name, slug=slug or name, actor=Actor.system(),
                                 owner=owner, **kw)

    return _make


@pytest.fixture
def owner(make_user):
    return make_user("owner@example.com", full_name="Olive Owner")


@pytest.fixture
def tenant(make_tenant, owner):
    return make_tenant("Acme Club", slug="acme", owner=owner)


@pytest.fixture
def scoped(tenant):
    """Run the test body inside `tenant`'s scope."""
    with tenant_scope(tenant):
        yield tenant


def _is_transactional(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _drop_audit_triggers_before_flush(request):
    """Transactional tests end with a flush, which the append-only audit triggers refuse.
    Drop them just before the flush; post_migrate (sent by flush) puts them back."""
    if not _is_transactional(request):
        yield
        return
    # Set the database up before this fixture, so its flush is torn down after our drop.
    request.getfixturevalue("_django_db_helper")
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS core_auditlog_no_change ON core_auditlog")
            cursor.execute("DROP TRIGGER IF EXISTS core_auditlog_no_truncate ON core_auditlog")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS core_auditlog_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS core_auditlog_no_delete")
