"""From a backend's text to a grounded Answer: every citation's quote is located by the service in the
cited passage, so it is verbatim by construction; sentences nothing supports are marked."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from qa.citations import (
    Claim,
    Passage,
    best_support,
    cited_numbers,
    claims,
    fold,
    has_names,
    locate,
    lower_case_words,
    names,
    numbers,
    quoted_spans,
)
from qa.records import Citation
from qa.sentences import sentence_spans

MIN_SUPPORT = 0.34  # share of a claim's content words its quote must carry
# An uncited sentence is credited to a passage sentence holding at least this share of its content words (at
# most one word in seven missing) and every number and name it states. Among the uncited sentences SmolLM2 wrote
# in the seed and squad2_500 runs of eval/README.md, the false ones whose numbers and names were all in one
# sentence held 0.75-0.83 of their words: one word changed the claim (examples in tests/test_citations.py).
AUTO_CITE = 0.85
REFUSAL_TEXT = "The documents don't say."
_REFUSAL = re.compile(
    r"NOT[ _]IN[ _]DOCUMENTS|\b(passages?|documents?|context|text|sources?)\b[^.]{0,40}\b(do(es)?n[o’']?t|do(es)? not|"
    r"never)\b[^.]{0,25}\b(say|mention|contain|answer|include|provide|specify|state|have)|\b(cannot|can't|can’t|unable "
    r"to)\b[^.]{0,20}\b(answer|find|determine|tell)|\bno (information|mention)\b",
    re.IGNORECASE,
)
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.]{0,40}\b(instructions?|previous|above|prompt|rules|system)\b|"
    r"\byou (must|should|will) (now )?(answer|reply|respond|say|output|write)\b|\bsystem prompt\b|"
    r"\b(as an ai|language model)\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """Whether a model's reply says the passages do not answer: it says nothing, gives the agreed reply, or
    says so and cites nothing (a cited answer that also notes a gap is still an answer)."""
    if not text.strip() or "NOT IN DOCUMENTS" in text.upper():
        return True
    return bool(_REFUSAL.search(text)) and not cited_numbers(text)


def looks_like_instruction(sentence: str) -> bool:
    """Text in a document that addresses the model; never quoted as evidence."""
    return bool(_INSTRUCTION.search(sentence))


@dataclass(frozen=True)
class Grounded:
    text: str
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...]
    dropped: int


class _Numbering:
    """Gives each distinct quote one number, in order of first use."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []

    def number(self, p: Passage, start: int, end: int) -> int:
        doc_start, doc_end = p.start + start, p.start + end
        for c in self.citations:
            if (c.doc_id, c.start, c.end) == (p.doc_id, doc_start, doc_end):
                return c.n
        n = len(self.citations) + 1
        self.citations.append(Citation(n, p.doc_id, p.source, doc_start, doc_end, p.text[start:end], p.page))
        return n


Span = tuple[int, int, float]  # start and end in the passage, support score


def _around(text: str, start: int, end: int) -> str:
    """The sentences of `text` that `text[start:end]` stands in."""
    return " ".join(text[s:e] for s, e in sentence_spans(text) if s < end and start < e)


def _span(claim: str, p: Passage, admits: Callable[[str], bool], need: float, quotes: bool) -> Span | None:
    """The span of passage `p` that backs `claim`: a quote the model wrote (with `quotes`), if it is really
    there, else the best-supporting sentence if it scores `need`; only in sentences that `admits`."""
    for quoted in quoted_spans(claim) if quotes else ():
        found = locate(quoted, p.text)
        if found and admits(_around(p.text, *found)):
            return found[0], found[1], 1.0
    start, end, score = best_support(claim, p.text, 0, len(p.text), skip=lambda s: not admits(s))
    return (start, end, score) if score >= need else None


def _admits(stated: set[str], named: Collection[str] = ()) -> Callable[[str], bool]:
    """Evidence for a claim: a sentence that does not address the model and states its numbers and names."""
    return lambda s: not looks_like_instruction(s) and stated <= numbers(s) and has_names(named, s)


def _backing(claim: Claim, passages: Sequence[Passage], common: Collection[str]) -> list[tuple[Passage, Span]]:
    """The passages that back `claim`, best first, each with its span. A cited claim: each passage it cites
    that holds its names, at a quote it wrote or at a sentence holding its numbers. An uncited one: the one
    sentence of all passages that holds its numbers and names and plainly says it (AUTO_CITE)."""
    stated = numbers(claim.text)
    if claim.cited:
        named, cited = names(claim.text, common, lead=False), [passages[n - 1] for n in claim.cited]
        admits = _admits(stated)
        spans = [(p, _span(claim.text, p, admits, MIN_SUPPORT, quotes=True)) for p in cited if has_names(named, p.text)]
    else:
        admits = _admits(stated, names(claim.text, common))
        spans = [(p, _span(claim.text, p, admits, AUTO_CITE, quotes=False)) for p in passages]
    found = sorted(((p, s) for p, s in spans if s), key=lambda ps: -ps[1][2])
    return found if claim.cited else found[:1]


def with_markers(sentence: str, markers: str) -> str:
    """The sentence with its citation markers before its closing punctuation: "It is so [1]." """
    body = sentence.rstrip()
    cut = len(body.rstrip(".!?…"))
    return f"{body[:cut]} {markers}{body[cut:]}"


def _first_of_each(found: list[Claim]) -> list[Claim]:
    """The claims without repeats: a sentence said again (whatever its case, spacing or markers) is dropped."""
    first: dict[str, Claim] = {}
    for claim in found:
        first.setdefault(fold(claim.text)[0].strip(), claim)
    return list(first.values())


def ground(answer: str, passages: Sequence[Passage]) -> Grounded:
    """Map the backend's [n] citations onto verbatim quotes, drop citations to passages that don't exist, credit
    an uncited sentence to the passage sentence that plainly says it, and say each repeated sentence once."""
    numbering = _Numbering()
    parts: list[str] = []
    unsupported: list[str] = []
    found, dropped = claims(answer, len(passages))
    common = lower_case_words([p.text for p in passages])
    for claim in _first_of_each(found):
        backed = _backing(claim, passages, common)
        if not backed:
            unsupported.append(claim.text)
            parts.append(claim.text)
            continue
        numbers = dict.fromkeys(numbering.number(p, span[0], span[1]) for p, span in backed)
        parts.append(with_markers(claim.text, "".join(f"[{n}]" for n in numbers)))
    return Grounded(" ".join(parts), tuple(numbering.citations), tuple(unsupported), dropped)
