"""Decode in a background thread while the backbone runs: decoders and torch release the GIL."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(iterable_factory, depth: int = 2) -> Iterator:  # type: ignore[no-untyped-def]
    """Iterate `iterable_factory()` in a daemon thread, at most `depth` items ahead.

    Exceptions raised by the producer are re-raised in the consumer, at the position they occurred.
    Closing the consumer early stops the producer at its next put.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in iterable_factory():
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)

    thread = threading.Thread(target=produce, name="hierskp-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()  # bounded: the producer checks `stop` after each item; the caller may then close the source
