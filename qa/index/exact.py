"""Exact dense search over an in-memory copy of a small collection: every chunk with its vector.

Chroma's approximate (HNSW) query costs a millisecond or two per search through its bindings, and reading the
hits' rows another round trip. A serving process whose collection is small enough (`EXACT_AT_MOST` chunks:
about 1.5 KB of vector per chunk at 384 dimensions, plus the text) keeps a copy instead: one matrix product
ranks every chunk exactly, and the hits' rows are already in memory. The copy follows the store by the
change, like the lexical index (`qa/index/lexical_sync.py`): from the store's change log when it can tell
(`qa/index/changes.py`), else by the difference in chunk ids (chunk ids name their content, so listing them says
what to add and what to drop); only the added chunks are fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from qa.index.changes import logged_change
from qa.records import Chunk, DocFilter

EXACT_AT_MOST = 20_000  # chunks; a larger collection is searched through Chroma's approximate index
_FETCH = 2000  # chunks fetched per call when the copy is filled or brought up to date


@runtime_checkable
class VectorSource(Protocol):
    """What the copy needs from the store: every chunk id, and some chunks with their stored vectors."""

    def all_ids(self) -> list[str]: ...
    def with_vectors(self, chunk_ids: Sequence[str]) -> tuple[list[Chunk], np.ndarray]: ...


@dataclass(frozen=True)
class ExactIndex:
    """The chunks of one revision of the store, their unit vectors as rows of `matrix`, and each row's
    document as a small integer (`codes`, into `doc_codes`) so a document filter is one vector comparison.
    Immutable: `updated` returns a new copy and searches in flight keep the old one."""

    revision: str
    chunks: tuple[Chunk, ...]
    matrix: np.ndarray  # float32, one unit row per chunk
    codes: np.ndarray  # int32, the document of each row
    doc_codes: dict[str, int]
    row: dict[str, int]  # chunk id -> row

    @classmethod
    def empty(cls, dimensions: int = 0) -> ExactIndex:
        return cls("", (), np.zeros((0, dimensions), np.float32), np.zeros(0, np.int32), {}, {})

    @classmethod
    def load(cls, source: VectorSource, revision: str) -> ExactIndex:
        """A copy of everything `source` holds, recorded at `revision` (read before this is called)."""
        return cls.empty().updated(source, revision)

    def __len__(self) -> int:
        return len(self.chunks)

    def updated(self, source: VectorSource, revision: str) -> ExactIndex:
        """This copy with the chunks `source` gained since fetched and those it lost dropped: as the store's
        change log says when it can tell, checked against the chunk count, else by listing every id."""
        logged = logged_change(source, self.revision, revision, self.row.__contains__)
        if logged is not None:
            added, removed, count = logged
            changed = self._changed(source, added, set(removed), revision)
            if len(changed) == count:
                return changed
        listed = source.all_ids()
        wanted = set(listed)
        gone = {chunk.chunk_id for chunk in self.chunks if chunk.chunk_id not in wanted}
        return self._changed(source, [cid for cid in listed if cid not in self.row], gone, revision)

    def _changed(self, source: VectorSource, added: list[str], gone: set[str], revision: str) -> ExactIndex:
        keep = [i for i, chunk in enumerate(self.chunks) if chunk.chunk_id not in gone]
        chunks = [self.chunks[i] for i in keep]
        blocks = [self.matrix[keep]]
        for first in range(0, len(added), _FETCH):
            fetched, vectors = source.with_vectors(added[first : first + _FETCH])
            chunks += fetched
            blocks.append(_unit(vectors))
        doc_codes = dict(self.doc_codes)
        codes = np.fromiter(
            (doc_codes.setdefault(chunk.doc_id, len(doc_codes)) for chunk in chunks), np.int32, len(chunks)
        )
        width = max((block.shape[1] for block in blocks if block.size), default=self.matrix.shape[1])
        matrix = np.concatenate([block.reshape(-1, width) for block in blocks]) if chunks else np.zeros((0, width))
        return ExactIndex(
            revision,
            tuple(chunks),
            matrix.astype(np.float32, copy=False),
            codes,
            doc_codes,
            {chunk.chunk_id: i for i, chunk in enumerate(chunks)},
        )

    def search(self, vector: np.ndarray, k: int, only: DocFilter | None = None) -> list[tuple[str, float]]:
        """The `k` chunks nearest to `vector` by cosine similarity, best first, as (chunk_id, similarity),
        only from documents `only` allows."""
        if not self.chunks or k <= 0 or (only is not None and only.admits_nothing):
            return []
        scores = self.matrix @ _unit(np.asarray(vector, np.float32).reshape(1, -1))[0]
        if only is not None:
            scores = np.where(self._allowed(only), scores, -np.inf)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # best first; equal scores in row order
        return [(self.chunks[i].chunk_id, float(scores[i])) for i in top if scores[i] != -np.inf]

    def get(self, chunk_ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids that the copy holds, in the order asked."""
        return [self.chunks[self.row[cid]] for cid in chunk_ids if cid in self.row]

    def _allowed(self, only: DocFilter) -> np.ndarray:
        """Which rows belong to a document `only` allows."""

        def codes(docs: frozenset[str]) -> list[int]:
            return [self.doc_codes[doc] for doc in docs if doc in self.doc_codes]

        if only.include is not None:
            return np.isin(self.codes, codes(only.include - only.exclude))
        return ~np.isin(self.codes, codes(only.exclude))


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (a zero row stays zero), as cosine similarity needs."""
    rows = np.asarray(vectors, np.float32)
    if rows.ndim == 1:
        rows = rows.reshape(1, -1)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1, norms)
