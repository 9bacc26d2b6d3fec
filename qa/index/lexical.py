"""BM25 over the stored chunks (bm25s), cached on disk and rebuilt only when the store has changed.

A search can be limited to some documents (`DocFilter`): chunks of other documents are never returned, but the
term statistics (idf, average length) stay those of the whole index, so scores are the same as unfiltered.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from qa.records import DocFilter
from qa.text.words import stemmer

_STOPWORDS = "en"


class LexicalIndex:
    """Ranks chunk ids by BM25 score for a query. Build it from (chunk_id, doc_id, text) rows."""

    def __init__(self, retriever: Any, ids: list[str], docs: list[str], revision: str) -> None:
        self._retriever = retriever
        self.ids = ids
        self.docs = docs  # the document of each chunk, in the order of `ids`
        self.revision = revision

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, str]], revision: str) -> LexicalIndex:
        import bm25s

        ids, docs, texts = [], [], []
        for chunk_id, doc_id, text in rows:
            ids.append(chunk_id)
            docs.append(doc_id)
            texts.append(text)
        retriever = None
        if ids:
            tokens = bm25s.tokenize(texts, stopwords=_STOPWORDS, stemmer=stemmer(), show_progress=False)
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ids, docs, revision)

    def search(self, query: str, k: int, only: DocFilter | None = None) -> list[tuple[str, float]]:
        """Up to `k` (chunk_id, score) pairs, best first; chunks sharing no term with the query are out, and
        so are chunks of documents `only` does not allow."""
        if self._retriever is None or (only is not None and only.admits_nothing):
            return []
        import bm25s

        words = bm25s.tokenize([query], stopwords=_STOPWORDS, stemmer=stemmer(), return_ids=False, show_progress=False)
        known = [w for w in words[0] if w in self._retriever.vocab_dict]
        if not known:
            return []
        if only is not None:
            return self._filtered(known, k, only)
        found, scores = self._retriever.retrieve([known], k=min(k, len(self.ids)), show_progress=False)
        return [(self.ids[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True) if s > 0]

    def _filtered(self, known: list[str], k: int, only: DocFilter) -> list[tuple[str, float]]:
        """Every chunk scored, those of documents `only` leaves out dropped, then the best `k`."""
        scores = np.asarray(self._retriever.get_scores(known), dtype=float)
        allowed = np.fromiter((only.allows(doc_id) for doc_id in self.docs), dtype=bool, count=len(self.docs))
        scores = np.where(allowed, scores, 0.0)
        best = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[int(i)], float(scores[i])) for i in best if scores[i] > 0]

    def save(self, folder: Path) -> None:
        """Write the cache, replacing any older one; safe when several processes save at once."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-new-"))
        if self._retriever is not None:
            self._retriever.save(str(staging), show_progress=False)
        meta = {"revision": self.revision, "ids": self.ids, "docs": self.docs}
        (staging / "qa.json").write_text(json.dumps(meta))
        retired = folder.with_name(f".{folder.name}-old-{uuid.uuid4().hex}")
        with contextlib.suppress(FileNotFoundError):
            os.rename(folder, retired)
        try:
            os.rename(staging, folder)
        except OSError:  # another process put its fresh cache in place first: keep that one
            shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, revision: str) -> LexicalIndex | None:
        """The cached index if it was built at `revision`, else None."""
        try:
            meta = json.loads((folder / "qa.json").read_text())
        except (OSError, ValueError):
            return None
        if meta.get("revision") != revision or "docs" not in meta:
            return None  # stale, or written before chunks carried their document: rebuild
        import bm25s

        try:
            retriever = bm25s.BM25.load(str(folder), show_progress=False) if meta["ids"] else None
        except (OSError, ValueError):  # replaced while being read: rebuild instead
            return None
        return cls(retriever, list(meta["ids"]), list(meta["docs"]), revision)
