"""How fresh the store's facts about a collection (its revision and chunk count) are when they are reused.

Reading them costs Chroma calls on every search, yet they change only on a write. A `Freshness` keeps the last
reading and reuses it until either a write to the same collection was made by this process (through any store
object: every write is counted here, by collection id), or `recheck` seconds have passed, so a write by another
process (several `qa serve` in front of one Chroma server) is seen within that time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

RECHECK_S = 0.5  # the longest a write by another process can go unseen

_writes: dict[str, int] = {}  # collection id -> writes made to it by this process, through any store object
_lock = threading.Lock()


def wrote(collection: str) -> None:
    """Count a write (or the start of one) to `collection`: the next reading of any store of it is fresh."""
    with _lock:
        _writes[collection] = _writes.get(collection, 0) + 1


def writes(collection: str) -> int:
    return _writes.get(collection, 0)


@dataclass(frozen=True)
class Reading:
    revision: str
    count: int
    at: float  # time.monotonic() of the reading
    writes: int  # this process's writes to the collection before it


class Freshness:
    """The latest `Reading` of one collection, read again when a write or the clock says it may be stale."""

    def __init__(self, collection: str, read: Callable[[], tuple[str, int]], recheck: float = RECHECK_S) -> None:
        self._collection = collection
        self._read = read
        self._recheck = recheck
        self._last: Reading | None = None

    def reading(self) -> Reading:
        last, now, done = self._last, time.monotonic(), writes(self._collection)
        if last is not None and last.writes == done and now - last.at < self._recheck:
            return last
        revision, count = self._read()
        self._last = Reading(revision, count, now, done)
        return self._last
