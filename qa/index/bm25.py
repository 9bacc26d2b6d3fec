"""BM25 arithmetic over raw term counts: tokenizing text into terms, postings (for each term, the positions of
the chunks holding it and how often), and scoring a term's postings with the statistics of the whole index.

Scores are computed at query time from the counts, not stored, so adding or removing chunks changes no stored
weight: only the global statistics (chunk count, average length, each term's document frequency). The formula
and its float widths are bm25s's ("lucene": k1 1.5, b 0.75, float32 weights), so a ranking here is bm25s's to
the last bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.text.words import stemmer

K1 = 1.5
B = 0.75
_STOPWORDS = "en"


def terms(texts: Sequence[str]) -> list[list[str]]:
    """Each text's terms in order: lowered words of two or more characters, English stopwords out, stemmed."""
    if not texts:
        return []
    import bm25s

    found = bm25s.tokenize(list(texts), stopwords=_STOPWORDS, stemmer=stemmer(), return_ids=False, show_progress=False)
    return [list(words) for words in found]


def idf(df: int, n: int) -> np.float32:
    """The inverse document frequency of a term held by `df` of `n` chunks (bm25s's "lucene" form)."""
    return np.float32(math.log(1 + (n - df + 0.5) / (df + 0.5)))


def weights(tf: np.ndarray, lengths: np.ndarray, avg_length: float, term_idf: np.float32) -> np.ndarray:
    """The float32 BM25 weight of one term in each chunk, from its counts `tf` (float32) and the chunks'
    lengths in terms; the operations and widths are bm25s's, so the weights are equal to its bit for bit."""
    norm = K1 * ((1 - B) + B * lengths.astype(np.float64) / avg_length)
    weight: np.ndarray = (term_idf * (tf.astype(np.float64) / (norm + tf))).astype(np.float32)
    return weight


@dataclass(frozen=True)
class Layout:
    """What stands at each position of an index: chunk id, its document, its length in terms, whether alive."""

    ids: list[str]
    docs: list[str]
    lengths: np.ndarray  # int64
    alive: np.ndarray  # bool


@dataclass(frozen=True)
class Postings:
    """For every term of some chunks, the (global) positions of the chunks holding it and its count in each.

    Column `j` (the term `vocab[j]`) is `positions[indptr[j]:indptr[j + 1]]` with counts in `tf` alike."""

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, len(vocab) + 1
    positions: np.ndarray  # int32
    tf: np.ndarray  # float32
    label: str = ""  # names a base segment, so that a saved delta is only ever read over its own base

    @classmethod
    def empty(cls) -> Postings:
        return cls({}, np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32))

    @classmethod
    def build(cls, chunk_terms: Sequence[Sequence[str]], first: int) -> Postings:
        """The postings of chunks whose terms are `chunk_terms`, the i-th standing at position `first + i`."""
        vocab: dict[str, int] = {}
        cols: list[int] = []
        rows: list[int] = []
        counts: list[int] = []
        for i, words in enumerate(chunk_terms):
            tally: dict[int, int] = {}
            for word in words:
                col = vocab.setdefault(word, len(vocab))
                tally[col] = tally.get(col, 0) + 1
            cols += tally.keys()
            counts += tally.values()
            rows += [first + i] * len(tally)
        return cls.from_triples(vocab, np.asarray(cols, np.int64), np.asarray(rows, np.int32), np.asarray(counts))

    @classmethod
    def from_triples(cls, vocab: dict[str, int], cols: np.ndarray, rows: np.ndarray, tf: np.ndarray) -> Postings:
        """Postings from (term column, position, count) triples in any order; within a column, positions rise."""
        order = np.lexsort((rows, cols))
        indptr = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(np.bincount(cols, minlength=len(vocab)), out=indptr[1:])
        return cls(vocab, indptr, rows[order].astype(np.int32), tf[order].astype(np.float32))

    def column(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(positions, counts) of the chunks holding `term` (both empty when none does)."""
        col = self.vocab.get(term)
        if col is None:
            return self.positions[:0], self.tf[:0]
        start, end = self.indptr[col], self.indptr[col + 1]
        return self.positions[start:end], self.tf[start:end]

    def df(self, term: str) -> int:
        """How many chunks of these postings hold `term` (dead ones included)."""
        col = self.vocab.get(term)
        return 0 if col is None else int(self.indptr[col + 1] - self.indptr[col])

    def columns(self) -> np.ndarray:
        """The term column of every posting."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))

    def merged(self, other: Postings, renumber: np.ndarray, label: str) -> Postings:
        """These postings and `other`'s in one, each position `p` moved to `renumber[p]` (-1: dropped), and
        terms no posting is left for dropped from the vocabulary."""
        vocab = dict(self.vocab)
        other_cols = np.asarray([vocab.setdefault(term, len(vocab)) for term in other.vocab], np.int64)
        cols = np.concatenate([self.columns(), other_cols[other.columns()]])
        rows = renumber[np.concatenate([self.positions, other.positions])]
        tf = np.concatenate([self.tf, other.tf])
        kept = rows >= 0
        cols, rows, tf = cols[kept], rows[kept].astype(np.int32), tf[kept]
        used = np.bincount(cols, minlength=len(vocab)) > 0
        names = [term for term, col in vocab.items() if used[col]]
        merged = Postings.from_triples({t: i for i, t in enumerate(names)}, (np.cumsum(used) - 1)[cols], rows, tf)
        return replace(merged, label=label)

    def terms_at(self, positions: np.ndarray) -> np.ndarray:
        """The column of every posting of the chunks at `positions`, one entry per (chunk, term): what a chunk's
        removal takes from the document frequencies. A scan of all postings, so linear in the index's size."""
        hit = np.flatnonzero(np.isin(self.positions, positions))
        return np.searchsorted(self.indptr, hit, side="right") - 1
