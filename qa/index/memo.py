"""A bounded memory of what the embedder made of a text, so that a sentence read for one question is not run
through the model again for the next: the extractive backend reads the same passages' sentences question after
question. Least recently used first out, bounded by the wordpieces held (each keeps a vector per wordpiece)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")


class Memo(Generic[T]):
    """Values by text, holding at most `capacity` units of size (as `put` is told), oldest use out first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._held: OrderedDict[str, tuple[T, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> T | None:
        with self._lock:
            found = self._held.get(key)
            if found is None:
                return None
            self._held.move_to_end(key)
            return found[0]

    def put(self, key: str, value: T, size: int) -> None:
        """Keep `value`; a value bigger than the whole capacity is not kept."""
        if size > self.capacity:
            return
        with self._lock:
            old = self._held.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._held[key] = (value, size)
            self._size += size
            while self._size > self.capacity:
                _, (_, dropped) = self._held.popitem(last=False)
                self._size -= dropped

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._held)

    @property
    def size(self) -> int:
        return self._size
