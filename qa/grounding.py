"""From a backend's text to a grounded Answer: every citation's quote is located by the service in the
cited passage, so it is verbatim by construction; sentences nothing supports are marked."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.citations import Passage, best_support, cited_numbers, claims, locate, quoted_spans
from qa.records import Citation
from qa.sentences import sentence_spans

MIN_SUPPORT = 0.34  # share of a claim's content words its quote must carry
AUTO_CITE = 1.0  # an uncited sentence is credited only to a passage sentence holding all its content words
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


def _inside_instruction(text: str, start: int, end: int) -> bool:
    """Whether any sentence overlapping text[start:end] addresses the model."""
    return any(looks_like_instruction(text[s:e]) for s, e in sentence_spans(text) if s < end and start < e)


def _quote_in(claim: str, p: Passage) -> tuple[int, int, float] | None:
    """The span of passage `p` that backs `claim`: a quote the model wrote, if it is really there, else
    the passage's best-supporting sentence; None when nothing in `p` supports the claim."""
    for quoted in quoted_spans(claim):
        found = locate(quoted, p.text)
        if found and not _inside_instruction(p.text, *found):
            return found[0], found[1], 1.0
    start, end, score = best_support(claim, p.text, 0, len(p.text), skip=looks_like_instruction)
    return (start, end, score) if score >= MIN_SUPPORT else None


def _backing(claim: str, passages: Sequence[Passage]) -> list[tuple[Passage, tuple[int, int, float]]]:
    """The passages that support `claim`, best first, each with its supporting span."""
    found = [(p, span) for p in passages if (span := _quote_in(claim, p))]
    return sorted(found, key=lambda ps: -ps[1][2])


def with_markers(sentence: str, markers: str) -> str:
    """The sentence with its citation markers before its closing punctuation: "It is so [1]." """
    body = sentence.rstrip()
    cut = len(body.rstrip(".!?…"))
    return f"{body[:cut]} {markers}{body[cut:]}"


def ground(answer: str, passages: Sequence[Passage]) -> Grounded:
    """Map the backend's [n] citations onto verbatim quotes; drop citations to passages that don't exist."""
    numbering = _Numbering()
    parts: list[str] = []
    unsupported: list[str] = []
    found, dropped = claims(answer, len(passages))
    for claim in found:
        backed = _backing(claim.text, [passages[n - 1] for n in claim.cited] if claim.cited else passages)
        if not claim.cited:  # an uncited sentence is credited only to a passage that plainly says it
            backed = [(p, span) for p, span in backed[:1] if span[2] >= AUTO_CITE]
        if not backed:
            unsupported.append(claim.text)
            parts.append(claim.text)
            continue
        numbers = dict.fromkeys(numbering.number(p, span[0], span[1]) for p, span in backed)
        parts.append(with_markers(claim.text, "".join(f"[{n}]" for n in numbers)))
    return Grounded(" ".join(parts), tuple(numbering.citations), tuple(unsupported), dropped)
