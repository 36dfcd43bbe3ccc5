"""Fixed-window counters in the database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from tend.core.tenancy import tenant_scope
from tend.ratelimit.models import RateWindow
from tend.ratelimit.services import rate_hit

T0 = datetime(2026, 3, 1, 9, 30, 10, tzinfo=UTC)


def test_the_limit_holds_within_a_window_and_resets_with_the_next(scoped):
    hits = [rate_hit(tenant=scoped, scope="s", limit=3, now=T0 + timedelta(seconds=n))
            for n in range(5)]
    # 09:30:10 … 09:30:14: three allowed, then wait until 09:31:00.
    assert hits == [0, 0, 0, 47, 46]
    assert rate_hit(tenant=scoped, scope="other", limit=3, now=T0) == 0
    assert rate_hit(tenant=scoped, scope="s", limit=3, now=T0 + timedelta(seconds=50)) == 0
    row = RateWindow.objects.get(scope="s")
    assert (row.window_start, row.count) == (datetime(2026, 3, 1, 9, 31, tzinfo=UTC), 1)
    assert rate_hit(tenant=scoped, scope="s", limit=0, now=T0) == 0  # no limit


def test_counters_are_per_organization(scoped, make_tenant):
    other = make_tenant("Other Club", slug="other")
    assert rate_hit(tenant=scoped, scope="s", limit=1, now=T0) == 0
    assert rate_hit(tenant=scoped, scope="s", limit=1, now=T0) > 0
    with tenant_scope(other):
        assert rate_hit(tenant=other, scope="s", limit=1, now=T0) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_never_overshoot(tenant):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL")
    barrier = threading.Barrier(8)
    answers, errors = [], []

    def hit():
        try:
            with tenant_scope(tenant):
                barrier.wait()
                for _n in range(5):
                    answers.append(rate_hit(tenant=tenant, scope="burst", limit=20, now=T0))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(a == 0 for a in answers).count(True) == 20
    with tenant_scope(tenant):
        assert RateWindow.objects.get(scope="burst").count == 20
