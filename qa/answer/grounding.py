"""From a backend's text to a grounded Answer: every citation's quote is located by the service in a passage,
so it is verbatim by construction; a sentence cited to the wrong passage is credited to the one that states it,
and sentences nothing supports are marked."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from qa.answer.citations import (
    Claim,
    best_support,
    cited_numbers,
    claims,
    clauses,
    contradicts,
    locate,
    overlap,
    quoted_spans,
    statements,
)
from qa.injection.detect import trusted_text, untrusted, untrusted_spans
from qa.injection.instruction import is_instruction
from qa.records import Citation, Passage
from qa.text.words import fold, has_names, lower_case_words, name_keys, numbers, words

MIN_SUPPORT = 0.34  # share of a claim's content words its quote must carry
# An uncited sentence is credited to a passage sentence holding at least this share of its content words (at
# most one word in seven missing) and every number and name it states. Among the uncited sentences SmolLM2 wrote
# in the seed and squad2_500 runs of eval/README.md, the false ones whose numbers and names were all in one
# sentence held 0.75-0.83 of their words: one word changed the claim (examples in tests/test_citations.py).
AUTO_CITE = 0.85
MIN_CLAUSE = 3  # content words a clause of a joined sentence needs to be credited on its own
REFUSAL_TEXT = "The documents don't say."
_REFUSAL = re.compile(
    r"NOT[ _]IN[ _]DOCUMENTS|\b(passages?|documents?|context|text|sources?)\b[^.]{0,40}\b(do(es)?n[o’']?t|do(es)? not|"
    r"never)\b[^.]{0,25}\b(say|mention|contain|answer|include|provide|specify|state|have)|\b(cannot|can't|can’t|unable "
    r"to)\b[^.]{0,20}\b(answer|find|determine|tell)|\bno (information|mention)\b",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """Whether a model's reply says the passages do not answer: it says nothing, gives the agreed reply, or
    says so and cites nothing (a cited answer that also notes a gap is still an answer)."""
    if not text.strip() or "NOT IN DOCUMENTS" in text.upper():
        return True
    return bool(_REFUSAL.search(text)) and not cited_numbers(text)


def looks_like_instruction(sentence: str) -> bool:
    """Text in a document that addresses the model; never quoted as evidence (qa/injection/detect.py)."""
    return is_instruction(sentence)


@dataclass(frozen=True)
class Grounded:
    text: str
    citations: tuple[Citation, ...]
    unsupported: tuple[str, ...]
    dropped: int
    recited: int = 0  # sentences whose citation was moved to the passage that states them


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
        self.citations.append(Citation(n, p.span.within(start, end), p.span.contains_instructions))
        return n


Span = tuple[int, int, float]  # start and end in the passage, support score


def _around(text: str, start: int, end: int) -> str:
    """The sentences of `text` that `text[start:end]` stands in."""
    return " ".join(text[s:e] for s, e in statements(text) if s < end and start < e)


def _span(claim: str, p: Passage, admits: Callable[[str], bool], need: float, quotes: bool) -> Span | None:
    """The span of passage `p` that backs `claim`: a quote the model wrote (with `quotes`), if it is really
    there, else the best-supporting sentence if it scores `need`; only in sentences that `admits`, and never
    in a block of the passage that holds an instruction to the model (qa/injection/detect.py)."""
    found = _quotation(claim, p, admits) if quotes else None
    if found:
        return found
    text = trusted_text(p.text)  # untrusted blocks blanked: offsets hold, their sentences are gone
    start, end, score = best_support(claim, text, 0, len(text), skip=lambda s: not s.strip() or not admits(s))
    return (start, end, score) if score >= need else None


def _quotation(claim: str, p: Passage, admits: Callable[[str], bool]) -> Span | None:
    """Where passage `p` holds, verbatim, a quotation the claim makes (text it puts in quotation marks), in a
    sentence that `admits` and outside any block that holds an instruction to the model."""
    for quoted in quoted_spans(claim):
        found = locate(quoted, p.text)
        if found and admits(_around(p.text, *found)) and not untrusted(p.text, *found):
            return found[0], found[1], 1.0
    return None


def _admits(claim: str, need: float, named: Collection[str] = ()) -> Callable[[str], bool]:
    """Evidence for a claim: a sentence that does not address the model, states its numbers and the names
    `named`, and holds `need` of the content words of each of its clauses (a clause joined on with "and" or
    ";" needs support of its own, however long the rest)."""
    stated = numbers(claim)
    parts = [claim[s:e] for s, e in clauses(claim)]
    parts = [part for part in parts if len(words(part)) >= MIN_CLAUSE] if len(parts) > 1 else []
    return lambda s: (
        not looks_like_instruction(s)
        and stated <= numbers(s)
        and has_names(named, s)
        and all(overlap(part, s) >= need for part in parts)
    )


Backing = list[tuple[Passage, Span]]


def _plainly(claim: str, passages: Sequence[Passage], common: Collection[str]) -> tuple[Passage, Span] | None:
    """The sentence of `passages` that plainly states `claim`: it holds AUTO_CITE of its content words (and of
    each of its clauses') and every number and name it states."""
    admits = _admits(claim, AUTO_CITE, name_keys(claim, common))
    spans = [(p, _span(claim, p, admits, AUTO_CITE, quotes=False)) for p in passages]
    return max(((p, s) for p, s in spans if s), key=lambda ps: ps[1][2], default=None)


def _runs(claim: str) -> list[tuple[int, int, str]]:
    """The runs of consecutive clauses of `claim` (see `clauses`), longest first: (first, last clause, text);
    the run of all of them is the whole claim."""
    bounds = clauses(claim) or [(0, len(claim))]
    last = len(bounds) - 1
    runs = [
        (i, j, claim[0 if i == 0 else bounds[i][0] : len(claim) if j == last else bounds[j][1]])
        for i in range(len(bounds))
        for j in range(i, len(bounds))
    ]
    return sorted(runs, key=lambda run: run[0] - run[1])


def _stated(claim: str, groups: Sequence[Sequence[Passage]], common: Collection[str]) -> Backing:
    """The sentences that plainly state `claim`: one for the whole of it, or else one for each run of its
    clauses (a sentence joining two statements with "and" or ";" is stated when both are). Each sentence comes
    from the first group of passages that has one."""
    runs = _runs(claim)
    last = max(j for _, j, _ in runs)
    found: dict[int, Backing | None] = {last + 1: []}

    def from_clause(i: int) -> Backing | None:  # the backing of clauses i..last, if each run of them is stated
        if i not in found:
            found[i] = None
            for _, j, text in (run for run in runs if run[0] == i):
                if (i, j) != (0, last) and len(words(text)) < MIN_CLAUSE:
                    continue
                here = next((s for g in groups if (s := _plainly(text, g, common))), None)
                rest = from_clause(j + 1) if here else None
                if here and rest is not None:
                    found[i] = [here, *rest]
                    break
        return found[i]

    return from_clause(0) or []


def _contradicted(claim: str, passages: Sequence[Passage], common: Collection[str]) -> bool:
    """Whether `claim`, or a run of its clauses, is a sentence of the passages with a number or name changed."""
    sentences = dict.fromkeys(p.text[s:e] for p in passages for s, e in statements(p.text))
    runs = [text for _, _, text in _runs(claim) if len(words(text)) >= MIN_CLAUSE]
    return any(contradicts(s, text, AUTO_CITE, common) for text in runs for s in sentences)


def _cited(claim: Claim, cited: Sequence[Passage], common: Collection[str]) -> Backing:
    """The passages a claim cites that back it, best first: each that holds its names, at a quote it wrote or
    at the sentence holding its numbers that best supports it (MIN_SUPPORT)."""
    named, admits = name_keys(claim.text, common, lead=False), _admits(claim.text, MIN_SUPPORT)
    spans = [(p, _span(claim.text, p, admits, MIN_SUPPORT, quotes=True)) for p in cited if has_names(named, p.text)]
    return sorted(((p, s) for p, s in spans if s), key=lambda ps: -ps[1][2])


def _quoting(claim: Claim, passages: Sequence[Passage], common: Collection[str]) -> Backing:
    """The first passage holding, verbatim, a quotation the claim makes, with the claim's names (and, in the
    quotation's sentence, its numbers): credited at the quotation, the words the claim takes from it."""
    named, admits = name_keys(claim.text, common, lead=False), _admits(claim.text, MIN_SUPPORT)
    for p in passages:
        found = _quotation(claim.text, p, admits) if has_names(named, p.text) else None
        if found:
            return [(p, found)]
    return []


def _backing(claim: Claim, passages: Sequence[Passage], common: Collection[str]) -> tuple[Backing, bool]:
    """The passages that back `claim`, each with its span, and whether they are not the ones it cites.

    A sentence that a passage plainly states is credited to it: to a passage it cites if one does, else to
    the one that does (its citation moves: small models often cite the wrong number). A cited sentence that
    no passage plainly states is credited to the passages it cites (`_cited`), unless it is a passage sentence
    with a number or name changed. A sentence that neither is credited only for a quotation it makes that a
    passage holds verbatim ("called the "Bold New City of the South""), at that quotation."""
    cited = [passages[n - 1] for n in claim.cited]
    stated = _stated(claim.text, [cited, passages] if cited else [passages], common)
    if any(p not in cited for p, _ in stated):
        return stated, bool(cited)
    if len(stated) > 1:  # clauses stated by sentences of the passages it cites
        return stated, False
    if not stated and _contradicted(claim.text, passages, common):
        return [], False
    backing = _cited(claim, cited, common) if cited else []
    if backing or stated:
        return backing, False
    return _quoting(claim, [p for p in passages if p not in cited], common), bool(cited)


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


def echoes(claim: str, passages: Sequence[Passage]) -> bool:
    """Whether every content word of `claim` stands in one block of the passages that holds an instruction to
    the model: a reply that obeys an injection ("HACKED", or a planted claim) repeats what that block says,
    and is not credited even when another passage happens to hold the same words."""
    said = words(claim)
    return bool(said) and any(said <= words(p.text[s:e]) for p in passages for s, e in untrusted_spans(p.text))


def ground(answer: str, passages: Sequence[Passage]) -> Grounded:
    """Map the backend's [n] citations onto verbatim quotes, drop citations to passages that don't exist, move
    a citation to the passage that states the sentence when the cited one does not, credit an uncited sentence
    to the passage sentence that plainly says it, and say each repeated sentence once. Text of a block that
    holds an instruction to the model is never evidence, and a sentence echoing such a block is unsupported."""
    numbering = _Numbering()
    parts: list[str] = []
    unsupported: list[str] = []
    recited = 0
    found, dropped = claims(answer, len(passages))
    common = lower_case_words([p.text for p in passages])
    for claim in _first_of_each(found):
        backed, moved = ([], False) if echoes(claim.text, passages) else _backing(claim, passages, common)
        if not backed:
            unsupported.append(claim.text)
            parts.append(claim.text)
            continue
        recited += moved
        numbers = dict.fromkeys(numbering.number(p, span[0], span[1]) for p, span in backed)
        parts.append(with_markers(claim.text, "".join(f"[{n}]" for n in numbers)))
    return Grounded(" ".join(parts), tuple(numbering.citations), tuple(unsupported), dropped, recited)
