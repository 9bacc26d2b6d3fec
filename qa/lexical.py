"""BM25 over the stored chunks (bm25s), cached on disk and rebuilt only when the store has changed."""

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

_STOPWORDS = "en"


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


class LexicalIndex:
    """Ranks chunk ids by BM25 score for a query. Build it from (chunk_id, text) pairs."""

    def __init__(self, retriever: Any, ids: list[str], revision: str) -> None:
        self._retriever = retriever
        self.ids = ids
        self.revision = revision
        self._stem = _stemmer()

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str]], revision: str) -> LexicalIndex:
        import bm25s

        ids, texts = [], []
        for chunk_id, text in rows:
            ids.append(chunk_id)
            texts.append(text)
        retriever = None
        if ids:
            tokens = bm25s.tokenize(texts, stopwords=_STOPWORDS, stemmer=_stemmer(), show_progress=False)
            retriever = bm25s.BM25()
            retriever.index(tokens, show_progress=False)
        return cls(retriever, ids, revision)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Up to `k` (chunk_id, score) pairs, best first; chunks sharing no term with the query are out."""
        if self._retriever is None:
            return []
        import bm25s

        words = bm25s.tokenize([query], stopwords=_STOPWORDS, stemmer=self._stem, return_ids=False, show_progress=False)
        known = [w for w in words[0] if w in self._retriever.vocab_dict]
        if not known:
            return []
        found, scores = self._retriever.retrieve([known], k=min(k, len(self.ids)), show_progress=False)
        return [(self.ids[int(i)], float(s)) for i, s in zip(found[0], scores[0], strict=True) if s > 0]

    def save(self, folder: Path) -> None:
        """Write the cache, replacing any older one; safe when several processes save at once."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-new-"))
        if self._retriever is not None:
            self._retriever.save(str(staging), show_progress=False)
        (staging / "qa.json").write_text(json.dumps({"revision": self.revision, "ids": self.ids}))
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
        if meta.get("revision") != revision:
            return None
        import bm25s

        try:
            retriever = bm25s.BM25.load(str(folder), show_progress=False) if meta["ids"] else None
        except (OSError, ValueError):  # replaced while being read: rebuild instead
            return None
        return cls(retriever, list(meta["ids"]), revision)
