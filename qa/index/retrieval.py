"""Hybrid retrieval: dense (the store) and lexical (BM25) rankings fused into one list of hits.

A `DocFilter` limits a search to some documents: both rankings honour it (a Chroma `where` on the chunks'
`doc_id`, a mask over the BM25 scores), and every hit is checked against it once more before it is returned.

Dense search goes to the store's approximate index, except in a process that called `warm()` on a collection of
at most `EXACT_AT_MOST` chunks: that process keeps every chunk and its vector in memory (`qa/index/exact.py`)
and ranks exactly, with no round trip to Chroma per search.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.index.embedders import Embedder
from qa.index.exact import EXACT_AT_MOST, ExactIndex, VectorSource
from qa.index.lexical import LexicalIndex
from qa.index.lexical_sync import refresh
from qa.index.store import ChunkStore
from qa.records import Chunk, DocFilter, Document, Hit, Span

RRF_K = 60


def fuse(
    rankings: Sequence[Sequence[str]], weights: Sequence[float] | None = None, k: int = RRF_K
) -> list[tuple[str, float]]:
    """Weighted reciprocal rank fusion: score(id) = sum of weight / (k + rank), ranks from 1."""
    weights = weights or [1.0] * len(rankings)
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


class Retriever:
    """Searches one store; keeps its BM25 index in memory and in a disk cache, rebuilt only on change."""

    MODES = ("hybrid", "dense", "lexical")

    def __init__(
        self,
        store: ChunkStore,
        embedder: Embedder,
        cache: Path,
        candidates: int = 30,
        exact_at_most: int = EXACT_AT_MOST,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._cache = cache
        self._candidates = candidates
        self._exact_at_most = exact_at_most
        self._lexical: LexicalIndex | None = None
        self._exact: ExactIndex | None = None  # the in-memory copy, once `warm` made one
        self._lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        """What embeds queries (a caller that has the query's vector already passes it to `search`)."""
        return self._embedder

    def lexical(self) -> LexicalIndex:
        """The BM25 index matching the store's current revision (loaded or rebuilt when stale). The store
        reads its revision again only after a write or every few tenths of a second, so this is cheap per
        query."""
        revision = self._store.revision()
        current = self._lexical
        if current is not None and current.revision == revision:
            return current
        with self._lock:  # concurrent searches after a change rebuild once, not once each
            if self._lexical is None or self._lexical.revision != revision:
                self._lexical = refresh(self._lexical, self._store, self._cache, revision)
            return self._lexical

    def warm(self) -> None:
        """Load the lexical index now, and keep an in-memory copy of a small collection for exact dense search
        from now on (a process that answers many questions calls this; a one-off search does not need it)."""
        self.lexical()
        if isinstance(self._store, VectorSource) and self._store.count() <= self._exact_at_most:
            with self._lock:
                if self._exact is None:
                    self._exact = ExactIndex.load(self._store, self._store.revision())

    def exact(self) -> ExactIndex | None:
        """The in-memory copy at the store's current revision (brought up to date when stale), or None when
        there is none: `warm` was not called, or the collection outgrew `exact_at_most` (the copy is dropped)."""
        current = self._exact
        if current is None:
            return None
        revision = self._store.revision()
        if current.revision == revision:
            return current
        with self._lock:
            if self._exact is not None and self._exact.revision != revision:
                source = self._store
                if self._store.count() > self._exact_at_most or not isinstance(source, VectorSource):
                    self._exact = None
                else:
                    self._exact = self._exact.updated(source, revision)
            return self._exact

    def document(self, doc_id: str) -> Document:
        """A whole stored document (to read a sentence past the edge of a passage)."""
        return self._store.document(doc_id)

    def window(self, chunk_id: str, chars: int) -> Span | None:
        """The chunk's span widened by the chunks of its document that hold the `chars` characters before and
        after it, read without reading the whole document (None: the chunk is gone)."""
        return self._store.window(chunk_id, chars)

    def search(
        self,
        query: str,
        k: int,
        mode: str = "hybrid",
        only: DocFilter | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The `k` best passages for `query`, only from the documents `only` allows (None: all). `vector`:
        the query already embedded by `embedder` (None: embed it here)."""
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {', '.join(self.MODES)}")
        depth = max(k, self._candidates)
        copy = self.exact()
        dense: list[tuple[str, float]] = []
        if mode != "lexical":
            vector = self._embedder.embed([query])[0] if vector is None else vector
            dense = copy.search(vector, depth, only) if copy is not None else self._store.query(vector, depth, only)
        lexical = self.lexical().search(query, depth, only) if mode != "dense" else []
        dense_rank = {cid: rank for rank, (cid, _) in enumerate(dense, start=1)}
        lexical_rank = {cid: rank for rank, (cid, _) in enumerate(lexical, start=1)}
        fused = fuse([[cid for cid, _ in dense], [cid for cid, _ in lexical]])[:k]
        scores = dict(fused)
        return [
            Hit(
                chunk.chunk_id,
                chunk.span,
                scores[chunk.chunk_id],
                dense_rank.get(chunk.chunk_id),
                lexical_rank.get(chunk.chunk_id),
            )
            for chunk in self._chunks([cid for cid, _ in fused], copy)
            if only is None or only.allows(chunk.doc_id)
        ]

    def _chunks(self, chunk_ids: list[str], copy: ExactIndex | None) -> list[Chunk]:
        """The chunks of these ids, from the in-memory copy when it holds them all (the lexical index may have
        seen a write the copy has not yet), else from the store."""
        if copy is not None and all(cid in copy.row for cid in chunk_ids):
            return copy.get(chunk_ids)
        return self._store.get(chunk_ids)
