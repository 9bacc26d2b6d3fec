"""The extractive backend: no LLM. It answers with the passage sentence that best answers the question,
or refuses when no sentence does. Sentences are scored on meaning (embedding cosine), on how much of the
question's distinctive wording they carry, on how well their words meet the question's words one by one
(contextual wordpiece vectors), on whether they hold the kind of thing asked for (qa/answer/kinds.py), and
on their passage's retrieval rank. A sentence that announces what follows ("let's look at the rules",
"as follows:") is read together with what follows it (the list or the next sentences, within a length
cap; code only as a short snippet after a colon: qa/answer/reading.py); a table is read a row at a time, with its
header row; a sentence that refers back ("This can be done by ...") also with the one it refers to. A heading or a
label standing alone is no answer of its own (it names what follows), nor a cross-reference ("See also ..."), nor a
line of code unless code or a command is asked for: then a sentence or line holding some outranks one that only
shares the question's topic words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from qa.answer.asking import without_source
from qa.answer.kinds import PREFERRED_ONLY, answer_type, has_type
from qa.answer.reading import announces, asks, following, headers, label, pointer, referent, rows, topic
from qa.index.embedders import Embedder, Encoded, TokenEncoder
from qa.injection.detect import untrusted
from qa.records import Passage
from qa.text.sentences import units
from qa.text.words import ASKING, STOPWORDS, words


def _content(word: str) -> bool:
    folded = word.lower()
    return folded.isalnum() and folded not in STOPWORDS and folded not in ASKING


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
    lead: int = 0  # characters of the announcement that the text starts with (0: not an announcement)
    context: str = ""  # read with the text but not quoted: a table row's header row

    @property
    def read(self) -> str:
        """What the candidate is judged on: its text, after its context when it has one."""
        return f"{self.context}\n{self.text}" if self.context else self.text

    @property
    def meaning(self) -> str:
        """What its meaning is read from: an announcement's own words, not what it announces."""
        return self.read[: len(self.read) - len(self.text) + self.lead] if self.lead else self.read


def candidates(
    passages: Sequence[Passage], refer_back: bool = False, code: bool = True, titles: bool = False
) -> list[Candidate]:
    """Every distinct sentence of the passages, with its document offsets (overlaps counted once). A
    sentence that announces what follows ("Putin replied:") is read with what follows. A heading only names
    what follows it, so it is no answer of its own (unless it is a question); nor is a line of code unless
    `code` (code or a command is asked for), nor a label standing alone unless `titles` (a headline or a title is
    asked about). Nothing of a block that holds an instruction to the model is a candidate
    (qa/injection/detect.py)."""
    seen: set[tuple[str, int, int]] = set()
    out: list[Candidate] = []
    for p in passages:
        found = rows(units(p.text))
        header = headers(found)
        for i, unit in enumerate(found):
            asked = asks(found, i, p.text)
            if unit.kind == "mark" or (unit.kind == "code" and not code):
                continue
            if not (asked or titles) and (unit.kind == "heading" or label(found, i, p.text)):
                continue
            if pointer(p.text[unit.start : unit.end]):
                continue
            last = following(found, i, p.text) if asked or announces(p.text[unit.start : unit.end]) else i
            s, e = unit.start, found[last].end
            before = referent(found, i, p.text) if last == i else None
            spans = [(s, e)] if before is None else [(before.start, e)] if refer_back else [(s, e), (before.start, e)]
            for s, e in spans:  # a sentence that refers back ("This can be done by ...") also with its referent
                key = (p.doc_id, p.start + s, p.start + e)
                if key not in seen and not untrusted(p.text, s, e):
                    seen.add(key)
                    lead = unit.end - s if last > i and not asked else 0  # a question heading: read it all
                    top = found[header[i]] if i in header else topic(found, i, p.text)
                    context = p.text[top.start : top.end] if top else ""
                    out.append(Candidate(p, p.start + s, p.start + e, p.text[s:e], lead=lead, context=context))
    return out


_TITLES = re.compile(r"\b(?:headlines?|titles?|headings?|captions?)\b", re.I)  # asked about one: it may answer
_NEGATION = re.compile(r"\b(?:not|no|never|cannot)\b|n[’']t\b", re.I)


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
    preferred: float = 0.3  # asked for a command or code: the edge of a sentence that holds some


def score(
    question: str,
    passages: Sequence[Passage],
    embedder: Embedder,
    w: Weights = Weights(),
    asked: Encoded | None = None,
) -> list[Candidate]:
    """Candidates best first, each with its features and combined score. `asked`: the question as `embedder`
    encodes it, when the caller has it already (it is then not encoded again). Words that only name the document
    to look in ("according to the argparse tutorial") are not read (qa/answer/asking.py)."""
    if (reading := without_source(question)) != question:
        question, asked = reading, None
    kind = answer_type(question)
    titles = bool(_TITLES.search(question))
    pool = candidates(passages, refer_back=kind == "reason", code=kind in ("code", "command"), titles=titles)
    if not pool:
        return []
    short = _shortlist(question, pool, kind, w)
    # an announcement is read for what it announces: its meaning is the lead's, its words all of it
    cosines, aligned = _read(question, [c.meaning for c, _ in short], embedder, asked)
    typed = [has_type(kind, c.text, question) for c, _ in short]
    # a kind that only ranks: the edge goes to sentences that hold it and share a word with the question
    prefer = kind in PREFERRED_ONLY and any(t and c.coverage > 0 for t, (c, _) in zip(typed, short, strict=True))
    scored = []
    for (c, novel), cosine, align, holds in zip(short, cosines, aligned, typed, strict=True):
        total = w.cosine * cosine + w.coverage * c.coverage + w.alignment * align + w.typed * holds
        total += w.rank / c.passage.n
        if not novel:
            total -= 0.2
        if prefer and not holds:
            total -= w.preferred  # only shared topic words: loses to a sentence holding what was asked for
        holds = holds or (kind in PREFERRED_ONLY and not prefer)
        scored.append(replace(c, cosine=cosine, alignment=align, typed=holds, novel=novel, score=total))
    return sorted(scored, key=lambda c: -c.score)


def _shortlist(question: str, pool: list[Candidate], kind: str | None, w: Weights) -> list[tuple[Candidate, bool]]:
    """The candidates worth reading closely, with their coverage, and whether each says anything the
    question does not: best on shared words and rank (and on holding code, when code is asked for)."""
    asked = words(question)
    sets = [words(c.read) for c in pool]
    idf = _idf(asked, sets)
    mass = sum(idf.values()) or 1.0
    rough = []
    for c, ws in zip(pool, sets, strict=True):
        coverage = sum(idf[x] for x in asked & ws) / mass
        code = kind in PREFERRED_ONLY and has_type(kind, c.text, question)
        rough.append((coverage + w.rank / c.passage.n + w.preferred * code, replace(c, coverage=coverage), ws))
    rough.sort(key=lambda item: -item[0])
    denied = bool(_NEGATION.search(question))
    # a sentence says something the question does not: a word of its own, or a "not" the question lacks ("The
    # __init__() generated by dataclass() does not call base class __init__() methods" answers whether it does)
    return [
        (c, bool(ws - asked) or (not denied and bool(_NEGATION.search(c.text)))) for _, c, ws in rough[: w.shortlist]
    ]


def _read(
    question: str, texts: list[str], embedder: Embedder, asked: Encoded | None = None
) -> tuple[list[float], list[float]]:
    """Cosine and word alignment of each text with the question (`asked`: the question already encoded)."""
    if not isinstance(embedder, TokenEncoder):
        vectors = embedder.embed([question, *texts])
        return [float(x) for x in vectors[1:] @ vectors[0]], [0.0] * len(texts)
    if asked is None:
        asked, *read = embedder.encode([question, *texts])
    else:
        read = embedder.encode(texts)  # each text is encoded on its own: the same as with the question first
    return [float(e.vector @ asked.vector) for e in read], [alignment(asked, e) for e in read]
