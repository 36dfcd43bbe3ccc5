"""Fixtures shared by every app's tests."""

from __future__ import annotations

import fcntl
import os
import tempfile

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


@pytest.fixture(autouse=True)
def _alone_when_exclusive(request):
    """With several test processes (pytest-xdist), a test marked `exclusive` runs while no
    other process runs a test: every test holds a shared lock on one file for its run, an
    exclusive test holds it exclusively. Tests that judge pacing by when requests reach a
    fake in the test's own process need the cores to themselves: a busy neighbour (a browser
    test, say) can stall that fake for long enough that paced requests are stamped in a
    bunch."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:
        yield
        return
    alone = request.node.get_closest_marker("exclusive") is not None
    with open(os.path.join(tempfile.gettempdir(), f"tend-tests-{run}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
