"""The extractive backend: no LLM. It answers with the passage sentence that best answers the question,
or refuses when no sentence does. Sentences are scored on meaning (embedding cosine), on how much of the
question's distinctive wording they carry, on how well their words meet the question's words one by one
(contextual wordpiece vectors), on whether they hold the kind of thing asked for (qa/answer_types.py), and
on their passage's retrieval rank.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.answer_types import answer_type, has_type
from qa.citations import STOPWORDS, Passage, words
from qa.embedders import Embedder, Encoded, TokenEncoder
from qa.sentences import sentence_spans

_ASKING = frozenset("what which who whom whose when where why how many much name names kind type".split())


def _content(word: str) -> bool:
    folded = word.lower()
    return folded.isalnum() and folded not in STOPWORDS and folded not in _ASKING


def alignment(question: Encoded, sentence: Encoded) -> float:
    """How well the sentence meets the question word by word: for each content word(piece) of the question,
    its best contextual cosine with any wordpiece of the sentence, averaged: "troops being drilled at sites"
    meets "soldiers training at bases" closer than any other sentence, which shared words cannot see."""
    keep = np.array([_content(w) for w in question.words], dtype=bool)
    if not keep.any():
        return 1.0
    if not len(sentence.tokens):
        return 0.0
    return float((question.tokens[keep] @ sentence.tokens.T).max(axis=1).mean())


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int  # offsets in the document
    end: int
    text: str
    coverage: float = 0.0  # idf-weighted share of the question's words present
    cosine: float = 0.0
    alignment: float = 0.0
    typed: bool = True
    novel: bool = True
    score: float = 0.0


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """Every distinct sentence of the passages, with its document offsets (overlaps counted once). A
    sentence that introduces what follows ("Putin replied:") is joined with the next one."""
    seen: set[tuple[str, int, int]] = set()
    out: list[Candidate] = []
    for p in passages:
        spans = sentence_spans(p.text)
        for i, (s, e) in enumerate(spans):
            if p.text[e - 1] == ":" and i + 1 < len(spans):
                e = spans[i + 1][1]
            key = (p.doc_id, p.start + s, p.start + e)
            if key not in seen:
                seen.add(key)
                out.append(Candidate(p, p.start + s, p.start + e, p.text[s:e]))
    return out


def _idf(question_words: set[str], sentence_words: list[set[str]]) -> dict[str, float]:
    total = len(sentence_words) + 1
    return {w: math.log(total / (1 + sum(w in s for s in sentence_words))) + 0.1 for w in question_words}


@dataclass(frozen=True)
class Weights:
    """Chosen on squad2_500 (not on the team's seed set): see README "Extractive answers"."""

    cosine: float = 0.3
    coverage: float = 0.35
    alignment: float = 0.1
    typed: float = 0.1
    rank: float = 0.05
    shortlist: int = 6  # sentences embedded per question: the cost of answering is mostly this
    second_within: float = 0.03  # a runner-up this close to the best sentence is quoted too


def score(question: str, passages: Sequence[Passage], embedder: Embedder, w: Weights = Weights()) -> list[Candidate]:
    """Candidates best first, each with its features and combined score."""
    pool = candidates(passages)
    if not pool:
        return []
    asked = words(question)
    sets = [words(c.text) for c in pool]
    idf = _idf(asked, sets)
    mass = sum(idf.values()) or 1.0
    kind = answer_type(question)
    rough = []
    for c, ws in zip(pool, sets, strict=True):
        coverage = sum(idf[x] for x in asked & ws) / mass
        rough.append((coverage + w.rank / c.passage.n, c, coverage, bool(ws - asked)))
    rough.sort(key=lambda item: -item[0])
    short = rough[: w.shortlist]
    texts = [question] + [c.text for _, c, _, _ in short]
    if isinstance(embedder, TokenEncoder):
        encoded = embedder.encode(texts)
        cosines = [float(e.vector @ encoded[0].vector) for e in encoded[1:]]
        aligned = [alignment(encoded[0], e) for e in encoded[1:]]
    else:
        vectors = embedder.embed(texts)
        cosines = [float(x) for x in vectors[1:] @ vectors[0]]
        aligned = [0.0] * len(short)
    scored = []
    for (_, c, coverage, novel), cosine, align in zip(short, cosines, aligned, strict=True):
        typed = has_type(kind, c.text, question)
        total = w.cosine * cosine + w.coverage * coverage + w.alignment * align + w.typed * typed + w.rank / c.passage.n
        if not novel:
            total -= 0.2
        scored.append(Candidate(c.passage, c.start, c.end, c.text, coverage, cosine, align, typed, novel, total))
    return sorted(scored, key=lambda c: -c.score)
