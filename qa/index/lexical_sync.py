"""Keeping a process's BM25 index in step with the store: the refresh after a change, which learns what changed
by diffing chunk ids, from the index in memory or else the disk cache.

Chunk ids name their content (a hash of the document, its version, the span and the text), so the set of ids
the store holds says exactly which chunks to add and which to drop: listing ids (no text, no metadata) is the
whole cost of finding a change, and only the added chunks' texts are fetched. A cache written at any earlier
revision is therefore still a good start: it is loaded and brought up to date the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from qa.index import lexical_files
from qa.index.changes import logged_change
from qa.index.lexical import LexicalIndex
from qa.records import Chunk

_FETCH = 5000  # chunks fetched per call when bringing an index up to date


class RowSource(Protocol):
    """What a full build needs from the store."""

    def all_rows(self) -> Iterator[tuple[str, str, str]]: ...


@runtime_checkable
class IdSource(Protocol):
    """What an update by difference needs from the store: every id, and the chunks of some ids. A store
    without `all_ids` gets a full build after each change."""

    def all_ids(self) -> list[str]: ...
    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]: ...


def refresh(current: LexicalIndex | None, store: RowSource, cache: Path, revision: str) -> LexicalIndex:
    """The index of what the store holds now, recorded at `revision` (read before this is called): `current`
    (else the disk cache) brought up to date by the difference in chunk ids, or a full build when there is
    nothing to start from or the store cannot list ids. Writes the cache: the change alone when the cache holds
    this index's base; a whole base when there is no cache; nothing when another process's base is there (a
    process starting later loads that one and catches up the same way)."""
    start = current if current is not None else LexicalIndex.load(cache)
    if start is not None and start.revision == revision:
        return start
    if start is None or not isinstance(store, IdSource):
        index = LexicalIndex.build(store.all_rows(), revision)
    else:
        index = catch_up(start, store, revision)
    if lexical_files.base_label(cache) in (None, index.base.label):
        index.save(cache)  # the change alone over the same base; a whole base only where there was none
    return index


def catch_up(index: LexicalIndex, store: IdSource, revision: str) -> LexicalIndex:
    """`index` with the chunks `store` gained since added and those it lost removed: as the store's change log
    says when it can tell, checked against the chunk count, else by listing every id."""
    logged = logged_change(store, index.revision, revision, index.holds)
    if logged is not None:
        added, removed, count = logged
        updated = _apply(index, store, added, removed, revision)
        if updated.live == count:
            return updated
    listed = store.all_ids()
    added = [cid for cid in listed if not index.holds(cid)]
    removed = []
    if index.live != len(listed) - len(added):  # some chunk we hold is gone (else nothing to look for)
        wanted = set(listed)
        removed = [cid for cid in index.ids if cid not in wanted]
    return _apply(index, store, added, removed, revision)


def _apply(index: LexicalIndex, store: IdSource, added: list[str], removed: list[str], revision: str) -> LexicalIndex:
    if not added and not removed:
        return index.with_revision(revision)
    rows = [
        (chunk.chunk_id, chunk.doc_id, chunk.text)
        for first in range(0, len(added), _FETCH)
        for chunk in store.get(added[first : first + _FETCH])
    ]
    return index.updated(rows, removed, revision)
