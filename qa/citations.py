"""Citations as pure functions: number passages, read the numbers a model cited, find quotes in their
source and check them. No I/O; every offset points into a document's text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from qa.sentences import sentence_spans

_CITE = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_CITES = re.compile(r"(?:\[\d+(?:\s*[,;]\s*\d+)*\]\s*)+")
_FOLD = str.maketrans(
    {
        "‘": "'",
        "’": "'",
        "‚": "'",
        "‛": "'",
        "“": '"',
        "”": '"',
        "„": '"',
        "‟": '"',
        "«": '"',
        "»": '"',
        "–": "-",
        "—": "-",
        "‐": "-",
        "‑": "-",
        "−": "-",
        "\u00a0": " ",
    }
)
_WORD = re.compile(r"[\w'-]+")
STOPWORDS = frozenset(
    "a an and are as at be been by did do does for from had has have he her his how i in is it its of on or "
    "she that the their them they this to was were what when where which who whom whose why will with would "
    "you about after also any can could into more most not only other over some such than then there these "
    "those under up very we our us".split()
)


@dataclass(frozen=True)
class Passage:
    """A numbered passage shown to a backend: `text == document text[start:end]`."""

    n: int
    doc_id: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None


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
    passages that do not exist (1..valid are real). A marker at the start of a sentence belongs to the
    sentence before it."""
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
        if body:
            out.append(Claim(body, _valid(numbers, valid)))
    return out, dropped


def _valid(numbers: list[int], valid: int, already: tuple[int, ...] = ()) -> tuple[int, ...]:
    return tuple(n for n in dict.fromkeys(numbers) if 1 <= n <= valid and n not in already)


def fold(text: str) -> tuple[str, list[int]]:
    """`text` with quote marks and dashes made plain, whitespace runs made one space and letters lowered,
    plus, for every character of the result, its offset in `text`."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text.translate(_FOLD)):
        if ch.isspace():
            if chars and chars[-1] == " ":
                continue
            ch = " "
        for piece in ch.lower():
            chars.append(piece)
            where.append(i)
    return "".join(chars), where


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


def words(text: str) -> set[str]:
    """Content words of `text` as match keys: lowered, Snowball-stemmed and cut to five letters, so that
    "Korea"/"Korean", "trains"/"training" and "deploy"/"deployment" meet."""
    found = [w.strip("'-") for w in _WORD.findall(text.translate(_FOLD).lower())]
    kept = [w for w in found if len(w) > 1 and w not in STOPWORDS]
    return {stem[:5] for stem in _stemmer().stemWords(kept)}


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def overlap(claim: str, sentence: str) -> float:
    """Share of the claim's content words found in the sentence (0..1)."""
    wanted = words(claim)
    return len(wanted & words(sentence)) / len(wanted) if wanted else 0.0


# "12 000", "12,000", "3.3": a group of three digits after a space or a comma goes on with the number
_NUMBER = re.compile(r"\d{1,3}(?:[ ,]\d{3}(?!\d))+(?:\.\d+)?|\d+(?:\.\d+)?")
_NUMERALS = dict(
    [(w, str(i)) for i, w in enumerate("zero one two three four five six seven eight nine ten".split()) if i != 1]
    + [(w, str(i)) for i, w in enumerate("eleven twelve thirteen fourteen fifteen sixteen".split(), 11)]
    + [(w, str(i)) for i, w in enumerate("seventeen eighteen nineteen".split(), 17)]
    + [(w, str(i * 10)) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)]
    + [(w, w) for w in ("hundred", "thousand", "million", "billion", "trillion", "dozen")]
)


def numbers(text: str) -> set[str]:
    """The numbers of `text`, written alike: "12 000" and "12,000" as "12000", "three" as "3" ("one" is left
    out: it is mostly a pronoun)."""
    folded = fold(text)[0]
    found = {re.sub("[ ,]", "", n) for n in _NUMBER.findall(folded)}
    return found | {_NUMERALS[w] for w in _WORD.findall(folded) if w in _NUMERALS}


def _plain(word: str) -> str:
    return word.lower().strip("'-").removesuffix("'s")


def lower_case_words(texts: Sequence[str]) -> set[str]:
    """The words `texts` use in lower case: a capitalised one of them is a common word, not a name."""
    return {_plain(w) for t in texts for w in _WORD.findall(t.translate(_FOLD)) if w[:1].islower()}


def names(claim: str, common: Collection[str] = (), lead: bool = True) -> set[str]:
    """The proper names of `claim` as match keys (lowered, stemmed): its capitalised words of two letters or
    more, except `common` words and stopwords ("US" is a name, "Us" is not). Its first word is capitalised
    anyway: it counts only with `lead`."""
    found = _WORD.findall(claim.translate(_FOLD))[0 if lead else 1 :]
    capitalised = {w.strip("'-").removesuffix("'s") for w in found if w[:1].isupper()}
    kept = {_plain(w) for w in capitalised if w.isupper() or _plain(w) not in STOPWORDS}
    return set(_stemmer().stemWords([w for w in kept if len(w) > 1 and w not in common]))


def _same_name(a: str, b: str) -> bool:
    """Keys of one name: equal, or one a prefix of the other ("korea"/"korean", "ukrain"/"ukrainian")."""
    short, long = sorted((a, b), key=len)
    return a == b or (len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 3)


def has_names(wanted: Collection[str], text: str) -> bool:
    """Whether `text` holds every name in `wanted` (keys from `names`); a hyphenated word holds its parts."""
    if not wanted:
        return True
    found = _WORD.findall(text.translate(_FOLD))
    keys = set(_stemmer().stemWords([_plain(p) for w in found for p in (w, *w.split("-")) if _plain(p)]))
    return all(n in keys or any(_same_name(n, k) for k in keys) for n in wanted)


def best_support(
    claim: str, text: str, start: int, end: int, skip: Callable[[str], bool] | None = None
) -> tuple[int, int, float]:
    """The sentence of `text[start:end]` that best supports `claim`: (start, end, overlap score). Sentences
    for which `skip` is true are never chosen."""
    best = (start, end, -1.0)
    for s, e in sentence_spans(text, start, end):
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
