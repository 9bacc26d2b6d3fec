"""Hybrid retrieval: dense (the store) and lexical (BM25) rankings fused into one list of hits.

A `DocFilter` limits a search to some documents: both rankings honour it (a Chroma `where` on the chunks'
`doc_id`, a mask over the BM25 scores), and every hit is checked against it once more before it is returned.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from qa.index.embedders import Embedder
from qa.index.lexical import LexicalIndex
from qa.index.lexical_sync import refresh
from qa.index.store import ChunkStore
from qa.records import DocFilter, Hit

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

    def __init__(self, store: ChunkStore, embedder: Embedder, cache: Path, candidates: int = 30) -> None:
        self._store = store
        self._embedder = embedder
        self._cache = cache
        self._candidates = candidates
        self._lexical: LexicalIndex | None = None
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
        dense: list[tuple[str, float]] = []
        if mode != "lexical":
            dense = self._store.query(self._embedder.embed([query])[0] if vector is None else vector, depth, only)
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
            for chunk in self._store.get([cid for cid, _ in fused])
            if only is None or only.allows(chunk.doc_id)
        ]
