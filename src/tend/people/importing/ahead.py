"""Reading ahead: produce an iterator's items in a thread while the caller works on the last.

An import alternates pure-Python work (reading and normalizing a batch of rows) with
database work (the batch's lookups and writes, mostly waiting on the server). Parsing the
next batch in a thread while the database works on this one overlaps the two. The producer
must not touch the database: Django connections are per thread and the batch's transaction
belongs to the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

from django.utils import translation

T = TypeVar("T")

_DONE = object()


def read_ahead(items: Iterator[T], *, depth: int = 1) -> Generator[T, None, None]:
    """Yield what `items` yields, producing up to `depth` items ahead in a thread.

    An exception in the producer is raised in the caller at the item where it happened.
    When the caller stops early (an exception, or closing the generator), the producer stops
    after the item it is working on; the thread is joined before this returns.
    """
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()
    language = translation.get_language()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        # Per-row error messages are translated: in the caller's language, not the default.
        with translation.override(language):
            try:
                for item in items:
                    if not put(item):
                        return
            except BaseException as exc:  # handed over to the caller
                put(exc)
                return
            put(_DONE)

    thread = threading.Thread(target=produce, name="tend-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()
