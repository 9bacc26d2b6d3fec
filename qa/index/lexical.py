"""BM25 over the stored chunks, kept up to date by the change rather than rebuilt.

The index is a large base segment plus one small delta segment (the chunks added since the base was built)
and a tombstone mask (base chunks removed since). Term counts, not weights, are stored and scores are computed
with the statistics of the live chunks only, so after any sequence of changes an index ranks exactly as one
built from scratch over the same chunks (the same bm25s scores, bit for bit). A change costs work in
proportion to it: tokenizing the added chunks, rebuilding the small delta, one scan of the base postings per
removal. The delta is folded into the base once it outgrows a fraction of it.

A search can be limited to some documents (`DocFilter`): chunks of other documents are never returned, but the
term statistics (idf, average length) stay those of the whole index, so scores are the same as unfiltered.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.index import lexical_files
from qa.index.bm25 import Layout, Postings, idf, terms, weights
from qa.records import DocFilter

# The delta is folded into the base when it holds more than this many chunks and this share of the base.
FOLD_AT = 2000
FOLD_SHARE = 0.05


class LexicalIndex:
    """Ranks chunk ids by BM25 score for a query. Build it from (chunk_id, doc_id, text) rows; `updated`
    returns a new index for a change (the old one stays valid: searches in flight are never disturbed)."""

    def __init__(
        self,
        layout: Layout,
        base: Postings,
        dead: dict[str, int],
        delta_terms: list[list[str]],
        revision: str,
        delta: Postings | None = None,
        where: dict[str, int] | None = None,
    ) -> None:
        self.layout = layout
        self.base = base
        self.dead = dead  # per term, how many removed base chunks held it
        self.delta_terms = delta_terms  # terms of the chunks after the base, in position order (dead ones too)
        self.delta = delta if delta is not None else Postings.build(delta_terms, len(layout.ids) - len(delta_terms))
        self.revision = revision
        # chunk id -> its latest position; shared with the indexes `updated` derives, which only add to it
        self._where = where if where is not None else {cid: i for i, cid in enumerate(layout.ids)}
        self.live = int(layout.alive.sum())
        self.total_length = int(layout.lengths[layout.alive].sum())

    @property
    def ids(self) -> list[str]:
        """The ids of the live chunks, in position order."""
        return [cid for cid, alive in zip(self.layout.ids, self.layout.alive, strict=True) if alive]

    @property
    def docs(self) -> list[str]:
        """The document of each live chunk, in the order of `ids`."""
        return [doc for doc, alive in zip(self.layout.docs, self.layout.alive, strict=True) if alive]

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, str]], revision: str) -> LexicalIndex:
        ids, docs, texts = [], [], []
        for chunk_id, doc_id, text in rows:
            ids.append(chunk_id)
            docs.append(doc_id)
            texts.append(text)
        chunk_terms = terms(texts)
        layout = Layout(ids, docs, np.asarray([len(t) for t in chunk_terms], np.int64), np.ones(len(ids), bool))
        base = replace(Postings.build(chunk_terms, 0), label=uuid.uuid4().hex)
        return cls(layout, base, {}, [], revision)

    def updated(self, added: Sequence[tuple[str, str, str]], removed: Iterable[str], revision: str) -> LexicalIndex:
        """This index after removing the chunks `removed` names, then adding the `added` rows (removed ids it
        does not hold are ignored, and so are added ids it already holds: an id names one content)."""
        fresh = [row for row in dict((row[0], row) for row in added).values() if not self.holds(row[0])]
        new_terms = terms([text for _, _, text in fresh])
        index = self._changed(set(removed), [(cid, doc) for cid, doc, _ in fresh], new_terms, revision)
        return index.folded() if index.should_fold() else index

    def _changed(
        self, removed: set[str], fresh: list[tuple[str, str]], new_terms: list[list[str]], revision: str
    ) -> LexicalIndex:
        """This index with the chunks `removed` names dead and the `fresh` (chunk_id, doc_id) appended, whose
        terms are `new_terms`."""
        at = [self._where[cid] for cid in removed if cid in self._where]
        gone = np.asarray(sorted(p for p in at if p < len(self.layout.ids)), np.int64)
        alive = self.layout.alive.copy()
        gone = gone[alive[gone]]
        alive[gone] = False
        layout = Layout(
            self.layout.ids + [cid for cid, _ in fresh],
            self.layout.docs + [doc for _, doc in fresh],
            np.concatenate([self.layout.lengths, np.asarray([len(t) for t in new_terms], np.int64)]),
            np.concatenate([alive, np.ones(len(fresh), bool)]),
        )
        dead = self._dead_after(gone[gone < self.base_size])
        first = len(self.layout.ids)
        self._where.update((cid, first + i) for i, (cid, _) in enumerate(fresh))
        return LexicalIndex(layout, self.base, dead, self.delta_terms + new_terms, revision, where=self._where)

    def holds(self, chunk_id: str) -> bool:
        """Whether a live chunk of this index has this id."""
        at = self._where.get(chunk_id)
        return at is not None and at < len(self.layout.ids) and bool(self.layout.alive[at])

    @property
    def base_size(self) -> int:
        return len(self.layout.ids) - len(self.delta_terms)

    def _dead_after(self, gone_base: np.ndarray) -> dict[str, int]:
        """The removed base chunks' document frequencies, with those of the chunks at `gone_base` added."""
        dead = dict(self.dead)
        if len(gone_base):
            names = list(self.base.vocab)
            cols, counts = np.unique(self.base.terms_at(gone_base), return_counts=True)
            for col, count in zip(cols.tolist(), counts.tolist(), strict=True):
                dead[names[col]] = dead.get(names[col], 0) + count
        return dead

    def should_fold(self) -> bool:
        return len(self.delta_terms) > max(FOLD_AT, FOLD_SHARE * self.base_size)

    def folded(self) -> LexicalIndex:
        """The same index with its delta and tombstones folded into a new base (a linear pass, no tokenizing)."""
        keep = np.flatnonzero(self.layout.alive)
        renumber = np.full(len(self.layout.ids), -1, np.int64)
        renumber[keep] = np.arange(len(keep))
        base = self.base.merged(self.delta, renumber, uuid.uuid4().hex)
        ids, docs = self.layout.ids, self.layout.docs
        layout = Layout([ids[i] for i in keep], [docs[i] for i in keep], self.layout.lengths[keep], renumber[keep] >= 0)
        return LexicalIndex(layout, base, {}, [], self.revision, Postings.empty())

    def df(self, term: str) -> int:
        """How many live chunks hold `term`."""
        return self.base.df(term) - self.dead.get(term, 0) + self._delta_df(term)

    def _delta_df(self, term: str) -> int:
        positions, _ = self.delta.column(term)
        return int(self.layout.alive[positions].sum())

    def scores(self, words: Sequence[str]) -> np.ndarray:
        """The float32 BM25 score of every position for the query terms `words` (0 for dead chunks)."""
        layout = self.layout
        scores = np.zeros(len(layout.ids), np.float32)
        avg = self.total_length / self.live
        for word in words:
            df = self.df(word)
            if not df:
                continue
            term_idf = idf(df, self.live)
            for part in (self.base, self.delta):
                positions, tf = part.column(word)
                scores[positions] += weights(tf, layout.lengths[positions], avg, term_idf)
        scores[~layout.alive] = 0
        return scores

    def search(self, query: str, k: int, only: DocFilter | None = None) -> list[tuple[str, float]]:
        """Up to `k` (chunk_id, score) pairs, best first (ties by chunk id); chunks sharing no term with the
        query are out, and so are chunks of documents `only` does not allow."""
        if not self.live or (only is not None and only.admits_nothing):
            return []
        known = [w for w in terms([query])[0] if self.df(w)]
        if not known:
            return []
        scores = self.scores(known)
        if only is not None:
            docs = self.layout.docs
            allowed = np.fromiter((only.allows(doc) for doc in docs), dtype=bool, count=len(docs))
            scores = np.where(allowed, scores, np.float32(0))
        return self._best(scores, k)

    def _best(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        found = np.flatnonzero(scores > 0)
        if len(found) > k:  # everything scoring at least the k-th best, so that ties are broken by id
            kth = np.partition(scores[found], len(found) - k)[len(found) - k]
            found = found[scores[found] >= kth]
        ids = self.layout.ids
        ranked = sorted((-float(scores[i]), ids[i]) for i in found.tolist())
        return [(cid, -negative) for negative, cid in ranked[:k]]

    def save(self, folder: Path) -> None:
        """Write the cache: only what changed since the base when `folder` holds this index's base (a write
        the size of the change), else the whole index folded into one base."""
        if lexical_files.base_label(folder) == self.base.label:
            first, alive = self.base_size, self.layout.alive
            gone = np.flatnonzero(~alive[:first]).tolist()
            rows = zip(self.layout.ids[first:], self.layout.docs[first:], self.delta_terms, strict=True)
            added = [row for row, live in zip(rows, alive[first:].tolist(), strict=True) if live]
            lexical_files.write_delta(folder, self.base.label, self.revision, gone, added)
            return
        index = self.folded() if self.delta_terms or self.dead else self
        lexical_files.write_base(folder, index.base, index.layout, index.revision)

    @classmethod
    def load(cls, folder: Path, revision: str | None = None) -> LexicalIndex | None:
        """The cached index if it was written at `revision` (None: at any revision), else None; None too for
        no cache, an older layout, or one replaced while being read."""
        saved = lexical_files.read(folder)
        if saved is None or revision not in (None, saved.revision):
            return None
        index = cls(saved.layout, saved.base, {}, [], saved.revision)
        gone = {saved.layout.ids[at] for at in saved.gone}
        if not gone and not saved.added:
            return index
        fresh = [(cid, doc) for cid, doc, _ in saved.added]
        return index._changed(gone, fresh, [words for *_, words in saved.added], saved.revision)

    def with_revision(self, revision: str) -> LexicalIndex:
        """This index, recorded as matching `revision` (nothing changed in between)."""
        return LexicalIndex(self.layout, self.base, self.dead, self.delta_terms, revision, self.delta, self._where)


def _columns(postings: Postings) -> np.ndarray:
    """The term column of every posting."""
    return np.repeat(np.arange(len(postings.indptr) - 1), np.diff(postings.indptr))
