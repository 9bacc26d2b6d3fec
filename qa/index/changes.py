"""The store's change log: what each write added and removed, kept beside the collection, so a process that
holds an index of an earlier revision learns the change without listing every chunk id.

A write is framed by two revision bumps (`ChromaStore.touch`): the first marks it pending, the second closes it.
The store notes the ids the write added and deleted in between, and on closing keeps one record: the revision
the write started from, its pending revision, the revision it ended at, and the ids. Records of a collection on
a Chroma server go to a companion collection there (`<collection>.changes`), which every process sharing the
server reads; those of an embedded Chroma, which one process opens at a time, stay in that process. A process
at revision R follows the records from R (or from a pending revision it read mid-write) to the current revision
and applies their net effect: the cost is the change, not the collection.

The log is a hint, never the truth: any doubt means "unknown", and the caller lists every id as before. Doubt is
a revision no record starts from (a write killed before it closed, a plain `touch`, a trimmed log), two records
starting from one revision (two writers at once), a chain longer than `MOST_STEPS`, or a write of more than
`MOST_IDS` ids (not recorded). The caller also checks the chunk count it arrives at against the store's.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

MOST_IDS = 20_000  # a write that adds and removes more ids than this is not recorded (readers list ids)
MOST_STEPS = 32  # records followed at most; a reader further behind lists ids
KEEP = 500  # records kept when the log is trimmed, which it is once it holds twice as many


@dataclass
class _Write:
    start: str
    pending: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.added) + len(self.removed)


@dataclass(frozen=True)
class Change:
    """The net effect of the writes between two revisions: ids added (and still there), ids removed, and
    (from the store) how many chunks the later revision holds, to check an index brought up to date by it."""

    added: list[str]
    removed: list[str]
    count: int = -1


@runtime_checkable
class ChangeSource(Protocol):
    """A store that can say what changed between two of its revisions (`ChromaStore.changes_between`)."""

    def changes_between(self, start: str, end: str) -> Change | None: ...


def logged_change(
    store: object, start: str, end: str, holds: Callable[[str], bool]
) -> tuple[list[str], list[str], int] | None:
    """What brings an index at revision `start` (holding the ids `holds` admits) to revision `end`, from the
    store's change log: the ids to add, the ids to drop, and the chunk count to check the result against.
    None when the store keeps no log or the log cannot tell (then the caller lists every id)."""
    if not isinstance(store, ChangeSource) or not start:
        return None
    change = store.changes_between(start, end)
    if change is None:
        return None
    added = [cid for cid in change.added if not holds(cid)]
    return added, [cid for cid in change.removed if holds(cid)], change.count


@dataclass(frozen=True)
class Record:
    """One closed write: the revision it started from, its pending revision, where it ended, and its ids."""

    start: str
    pending: str
    end: str
    added: list[str]
    removed: list[str]


class Records(Protocol):
    """Where a collection's records are kept."""

    def put(self, record: Record, keep: int) -> None: ...
    def starting_at(self, revision: str) -> list[Record] | None: ...


class InProcess:
    """Records kept in this process, shared by every store object of one collection: enough for an embedded
    Chroma, which only one process opens at a time (a later process finds no record and lists ids once)."""

    _all: ClassVar[dict[str, list[Record]]] = {}
    _lock = threading.Lock()

    def __init__(self, key: str) -> None:
        with self._lock:
            self._rows = self._all.setdefault(key, [])

    def put(self, record: Record, keep: int) -> None:
        with self._lock:
            self._rows.append(record)
            if len(self._rows) > 2 * keep:
                del self._rows[:-keep]

    def starting_at(self, revision: str) -> list[Record] | None:
        with self._lock:
            return [row for row in self._rows if revision in (row.start, row.pending)]


class InChroma:
    """Records in a companion collection (`<collection>.changes`) beside the collection, created on the first
    record: what processes sharing a Chroma server read."""

    def __init__(self, client: ClientAPI, collection: str) -> None:
        self._client = client
        self._name = f"{collection}.changes"
        self._log: Collection | None = None

    def put(self, record: Record, keep: int) -> None:
        if self._log is None:
            self._log = self._client.get_or_create_collection(self._name, embedding_function=None)
        meta: dict[str, str | float] = {"start": record.start, "pending": record.pending, "end": record.end}
        meta["at"] = time.time()
        changes = json.dumps({"added": record.added, "removed": record.removed})
        vector = np.ones((1, 1), np.float32)  # Chroma stores a vector with every record; this one means nothing
        self._log.upsert(ids=[record.end], embeddings=vector, documents=[changes], metadatas=[meta])
        if self._log.count() > 2 * keep:
            found = self._log.get(include=["metadatas"])
            rows = zip(found["ids"], found["metadatas"] or [], strict=True)
            oldest_first = sorted(rows, key=lambda row: float(str(row[1]["at"])))
            self._log.delete(ids=[rid for rid, _ in oldest_first[:-keep]])

    def starting_at(self, revision: str) -> list[Record] | None:
        if self._log is None:
            try:
                self._log = self._client.get_collection(self._name, embedding_function=None)
            except Exception:  # no record yet (chromadb raises NotFoundError or ValueError by version)
                return None
        where: Any = {"$or": [{"start": revision}, {"pending": revision}]}
        found = self._log.get(where=where, include=["documents", "metadatas"])
        rows = zip(found["documents"] or [], found["metadatas"] or [], strict=True)
        return [
            Record(str(meta["start"]), str(meta["pending"]), str(meta["end"]), **json.loads(text))
            for text, meta in rows
        ]


class ChangeLog:
    """Notes the ids of the write in progress and records each write as it closes, in `records`."""

    def __init__(self, records: Records, keep: int = KEEP, most_ids: int = MOST_IDS) -> None:
        self._records = records
        self._keep, self._most_ids = keep, most_ids
        self._write: _Write | None = None
        self._last: tuple[str, str, Change | None] = ("", "", None)  # the latest answer of `since`

    def begin(self, start: str, pending: str) -> None:
        """A write starts from revision `start`; `pending` is the revision that marks it begun. While one is
        open (several removals closed by one `touch`, or a write that failed before closing) it goes on: its
        record will hold every id since its start."""
        if self._write is None:
            self._write = _Write(start, pending)

    def note(self, added: Iterable[str] = (), removed: Iterable[str] = ()) -> None:
        """Ids the write in progress added or removed (nothing happens outside a write)."""
        if self._write is not None and self._write.size <= self._most_ids:
            self._write.added += added
            self._write.removed += removed

    def close(self, end: str) -> None:
        """The write in progress ended at revision `end`: record it (unless it was too large to)."""
        write, self._write = self._write, None
        if write is not None and write.size <= self._most_ids:
            self._records.put(Record(write.start, write.pending, end, write.added, write.removed), self._keep)

    def since(self, start: str, end: str) -> Change | None:
        """The net change from revision `start` (a closed or a pending one) to revision `end`, or None when
        the log cannot tell it for sure. The latest answer is kept: a process's lexical index and its
        in-memory copy ask the same question after a write."""
        last = self._last
        if (last[0], last[1]) == (start, end):
            return last[2]
        change = self._walk(start, end)
        self._last = (start, end, change)
        return change

    def _walk(self, start: str, end: str) -> Change | None:
        added: dict[str, None] = {}
        removed: dict[str, None] = {}
        at = start
        for _ in range(MOST_STEPS + 1):
            if at == end:
                return Change(list(added), list(removed))
            found = self._records.starting_at(at)
            if found is None or len(found) != 1:
                return None  # no record (an unknown change) or two (two writers from one revision)
            for cid in found[0].added:
                removed.pop(cid, None)
                added[cid] = None
            for cid in found[0].removed:
                added.pop(cid, None)
                removed[cid] = None
            at = found[0].end
        return None
