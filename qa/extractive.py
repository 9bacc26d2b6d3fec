"""The extractive backend: no LLM. It answers with the passage sentence that best answers the question,
or refuses when no sentence does. Sentences are scored on meaning (embedding cosine), on how much of the
question's distinctive wording they carry, on whether they hold the kind of thing asked for (a name, a
number, a date, a place), and on their passage's retrieval rank.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.citations import Passage, words
from qa.embedders import Embedder
from qa.sentences import sentence_spans

_MONTHS = "january february march april may june july august september october november december"
_DAYS = "monday tuesday wednesday thursday friday saturday sunday"
_NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve hundred thousand million billion"
_TYPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "number",
        re.compile(r"^\s*(how (many|much|long|old|far|big|large)|what (number|percentage|amount))\b", re.I),
    ),
    (
        "date",
        re.compile(r"^\s*(when|what (year|date|day|month|time|century|decade)|in what year|which year)\b", re.I),
    ),
    ("person", re.compile(r"^\s*(who|whom|whose)\b", re.I)),
    ("place", re.compile(r"^\s*(where|(in )?(what|which) (country|city|town|region|place|state))\b", re.I)),
]
_HAS = {
    "number": re.compile(rf"\d|\b({_NUMBER_WORDS.replace(' ', '|')})\b", re.I),
    "date": re.compile(rf"\b(1\d{{3}}|20\d{{2}}|({_MONTHS.replace(' ', '|')})|({_DAYS.replace(' ', '|')}))\b", re.I),
}
_NAME = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+")


def answer_type(question: str) -> str | None:
    """What the question asks for: number, date, person, place, or None."""
    for kind, pattern in _TYPES:
        if pattern.search(question):
            return kind
    return None


def has_type(kind: str | None, sentence: str, question: str) -> bool:
    """Whether the sentence holds something of the asked kind that the question itself does not name."""
    if kind is None:
        return True
    if kind in _HAS:
        return bool(_HAS[kind].search(sentence))
    asked = words(question)
    return any(not (words(name) <= asked) for name in _NAME.findall(sentence))


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int  # offsets in the document
    end: int
    text: str
    coverage: float = 0.0  # idf-weighted share of the question's words present
    cosine: float = 0.0
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
    vectors = embedder.embed([question] + [c.text for _, c, _, _ in short])
    cosines = vectors[1:] @ vectors[0]
    scored = []
    for (_, c, coverage, novel), cosine in zip(short, np.asarray(cosines), strict=True):
        typed = has_type(kind, c.text, question)
        total = w.cosine * float(cosine) + w.coverage * coverage + w.typed * typed + w.rank / c.passage.n
        if not novel:
            total -= 0.2
        scored.append(Candidate(c.passage, c.start, c.end, c.text, coverage, float(cosine), typed, novel, total))
    return sorted(scored, key=lambda c: -c.score)
