"""The import's read-ahead thread: same items in order, errors and early stops handled."""

from __future__ import annotations

import threading

import pytest
from django.utils import translation

from tend.people.importing.ahead import read_ahead


def test_items_arrive_in_order_from_another_thread():
    seen_threads = set()

    def items():
        for n in range(50):
            seen_threads.add(threading.current_thread().name)
            yield n

    assert list(read_ahead(items(), depth=3)) == list(range(50))
    assert seen_threads == {"tend-read-ahead"}


def test_an_error_in_the_producer_reaches_the_caller_at_its_place():
    def items():
        yield 1
        yield 2
        raise ValueError("row 3 is broken")

    got = []
    with pytest.raises(ValueError, match="row 3 is broken"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_stops_and_joins_the_producer():
    produced = []

    def items():
        for n in range(1000):
            produced.append(n)
            yield n

    batches = read_ahead(items(), depth=1)
    assert next(batches) == 0
    batches.close()
    assert not any(t.name == "tend-read-ahead" for t in threading.enumerate())
    assert len(produced) <= 3  # the one handed over, the one queued, the one in the making


def test_the_producer_speaks_the_callers_language():
    def items():
        yield translation.get_language()

    with translation.override("ar"):
        assert list(read_ahead(items())) == ["ar"]
