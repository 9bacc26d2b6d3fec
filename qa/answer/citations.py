"""Citations as pure functions: number passages, read the numbers a model cited and the claims they mark,
find quotes in their source and check them, pick the sentence that best supports a claim and tell one that
changes a number or name. No I/O; every offset points into a document's text. The word keys they compare
come from qa/text/words.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from qa.records import Passage
from qa.text.sentences import sentence_spans
from qa.text.words import WORD, content_words, fold, is_name, words

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_CITES = re.compile(r"(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+")


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the passage numbers it cites (valid ones only)."""

    text: str
    cited: tuple[int, ...]


def label(passages: Sequence[Passage]) -> str:
    """The passages as the model reads them: a numbered header line, then the text."""
    blocks = []
    for p in passages:
        page = f", page {p.page}" if p.page else ""
        blocks.append(f"[{p.n}] {p.source}{page}\n{p.text.strip()}")
    return "\n\n".join(blocks)


def cited_numbers(text: str) -> list[int]:
    """Every passage number cited as [n], [n, m] or [n][m], in order of appearance."""
    return [int(n) for group in _CITE.findall(text) for n in re.split(r"\s*[,;]\s*", group)]


def strip_markers(text: str) -> str:
    """The text without its [n] markers (and the spaces they leave)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _CITE.sub("", text)).strip()


def claims(answer: str, valid: int) -> tuple[list[Claim], int]:
    """The answer's sentences with the passage numbers each cites, and how many citations pointed to
    passages that do not exist (1..valid are real). A marker at the start of a sentence, and a sentence that
    only points to sources ("This is stated in [2]."), belong to the sentence before."""
    out: list[Claim] = []
    dropped = 0
    for start, end in sentence_spans(answer):
        sentence = answer[start:end]
        lead = _LEADING_CITES.match(sentence)
        if lead and out:  # "... troops. [2] Next sentence": the [2] closes the sentence before
            out[-1] = Claim(out[-1].text, out[-1].cited + _valid(cited_numbers(lead.group()), valid, out[-1].cited))
            dropped += sum(1 for n in cited_numbers(lead.group()) if not 1 <= n <= valid)
            sentence = sentence[lead.end() :]
        numbers = cited_numbers(sentence)
        dropped += sum(1 for n in numbers if not 1 <= n <= valid)
        body = strip_markers(sentence)
        if numbers and out and only_points_to_sources(body):  # "... troops. This is stated in [2]."
            out[-1] = Claim(out[-1].text, out[-1].cited + _valid(numbers, valid, out[-1].cited))
        elif re.search(r"\w", body):  # "Reuters. [1].": the "." left after the marker is no sentence
            out.append(Claim(body, _valid(numbers, valid)))
    return out, dropped


_POINTING = frozenset(
    "this that it these is are was were can could be been found in on at from to as stated said mentioned shown "
    "given written see according information passage passages source sources document documents text and or "
    "the of which also refer refers reference referenced cited per".split()
)


def only_points_to_sources(sentence: str) -> bool:
    """Whether a sentence (markers stripped) says nothing but where something stands: "This can be found in
    [1].", "See [2] and [3].", "(Source: [1])". Its markers belong to the sentence before it."""
    found = [w.lower() for w in WORD.findall(sentence)]
    return all(w in _POINTING for w in found)


def _valid(numbers: list[int], valid: int, already: tuple[int, ...] = ()) -> tuple[int, ...]:
    return tuple(n for n in dict.fromkeys(numbers) if 1 <= n <= valid and n not in already)


def locate(quote: str, text: str, start: int = 0, end: int | None = None) -> tuple[int, int] | None:
    """Where `quote` stands in `text[start:end]`, ignoring case, whitespace and quote-mark style; the
    offsets are exact positions in `text`, so `text[s:e]` is the verbatim source."""
    end = len(text) if end is None else end
    needle, _ = fold(quote.strip().strip("\"'“”‘’.…").strip())
    if len(needle) < 3:
        return None
    haystack, where = fold(text[start:end])
    found = haystack.find(needle)
    if found < 0:
        return None
    return start + where[found], start + where[found + len(needle) - 1] + 1


def overlap(claim: str, sentence: str) -> float:
    """Share of the claim's content words found in the sentence (0..1)."""
    wanted = words(claim)
    return len(wanted & words(sentence)) / len(wanted) if wanted else 0.0


def _facts(text: str, common: Collection[str]) -> list[tuple[str, bool]]:
    """The content words of `text` in order, each with whether it is a number or a name."""
    return [(key, not written or is_name(written, common)) for key, written in content_words(text)]


def _share(wanted: set[str], found: set[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 1.0


def contradicts(sentence: str, claim: str, near: float, common: Collection[str] = ()) -> bool:
    """Whether `claim` is `sentence` with a number or name changed: where they differ, the claim has numbers or
    names, one of them never stated in the sentence, in the place of numbers or names of the sentence ("sent
    12 000 troops" where it says "sent 3 000 troops", "SBU said" where it says "HUR said"), and each holds at
    least `near` of the other's remaining words. A name put in the place of other words ("Putin" for "the
    Kremlin leader", "He") is no change of a name."""
    mine, theirs = _facts(claim, common), _facts(sentence, common)
    keys, other = [k for k, _ in mine], [k for k, _ in theirs]
    held = set(other)
    changed: set[int] = set()
    replaced: set[int] = set()
    for op, i1, i2, j1, j2 in SequenceMatcher(None, keys, other, autojunk=False).get_opcodes():
        swap = all(fact for _, fact in mine[i1:i2]) and all(fact for _, fact in theirs[j1:j2])
        if op == "replace" and swap and any(key not in held for key, _ in mine[i1:i2]):
            changed.update(range(i1, i2))
            replaced.update(range(j1, j2))
    rest = {k for i, k in enumerate(keys) if i not in changed}
    rest_of_sentence = {k for j, k in enumerate(other) if j not in replaced}
    return (
        bool(changed)
        and len(rest) >= 3
        and _share(rest, set(other)) >= near
        and _share(rest_of_sentence, set(keys)) >= near
    )


# where a sentence joins clauses: a semicolon, or "and" (with or without a comma before it)
_JOINT = re.compile(r"\s*;\s*|,?\s+and\s+", re.IGNORECASE)


def clauses(text: str) -> list[tuple[int, int]]:
    """The (start, end) spans of the clauses of `text`: its sentences (a quotation of several is cut into
    them), cut at semicolons and "and"s, which are left out."""
    spans: list[tuple[int, int]] = []
    for first, last in statements(text) or [(0, len(text))]:
        start = first
        for m in _JOINT.finditer(text, first, last):
            if m.start() > start:
                spans.append((start, m.start()))
            start = m.end()
        if last > start:
            spans.append((start, last))
    return spans


# quotation marks as a plain apostrophe (one character for one, so offsets stay): what `statements` reads
_UNQUOTED = str.maketrans(dict.fromkeys('“”„«»"', "'"))


def statements(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The sentences of `text[start:end]` as (start, end) spans, a quotation of several sentences cut into its
    sentences: the units of evidence, each of which must state a claim's numbers and names by itself."""
    return list(_statements(text, start, len(text) if end is None else end))


@functools.lru_cache(maxsize=1024)
def _statements(text: str, start: int, end: int) -> tuple[tuple[int, int], ...]:
    return tuple(sentence_spans(text.translate(_UNQUOTED), start, end))


def best_support(
    claim: str, text: str, start: int, end: int, skip: Callable[[str], bool] | None = None
) -> tuple[int, int, float]:
    """The sentence of `text[start:end]` that best supports `claim`: (start, end, overlap score). Sentences
    for which `skip` is true are never chosen."""
    best = (start, end, -1.0)
    for s, e in statements(text, start, end):
        if skip and skip(text[s:e]):
            continue
        score = overlap(claim, text[s:e])
        if score > best[2]:
            best = (s, e, score)
    return best


def quoted_spans(claim: str) -> list[str]:
    """Text the model put in quotation marks inside a claim (candidates for verbatim quotes)."""
    return [m.group(1) for m in re.finditer(r"[\"“]([^\"“”]{8,}?)[\"”]", claim)]


def verified(quote: str, text: str, start: int, end: int) -> bool:
    """True when the quote is exactly the source text at its offsets."""
    return 0 <= start <= end <= len(text) and text[start:end] == quote
