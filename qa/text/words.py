"""Words as match keys: quote marks and dashes folded, content words stemmed and cut, numbers written alike,
proper names told from common words. Pure functions, no I/O; the package's one English stemmer lives here.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Collection, Sequence
from typing import Any

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
        "\u2007": " ",
        "\u2009": " ",
        "\u202f": " ",
    }
)
WORD = re.compile(r"[\w'-]+")  # a word with its apostrophes and hyphens ("Russia's", "Yunus-bek")
STOPWORDS = frozenset(
    "a an and are as at be been by did do does for from had has have he her his how i in is it its of on or "
    "she that the their them they this to was were what when where which who whom whose why will with would "
    "you about after also any can could into more most not only other over some such than then there these "
    "those under up very we our us".split()
)

# Numbers in digits. Three patterns, because what each is for differs and one in the place of another would
# change what matches:
# - _NUMBER_TEXT reads a number: "12 000", "12,000" and "3.3" are one number each (a group of three digits after
#   a space or a comma goes on with it); "1990, 2000" is two.
# - DIGIT_RUN finds where digits stand (question kinds build their number pattern from it): a run of digits and
#   separators of any kind ("1990, 2000", "12\n000") from a word boundary on, so that its span covers a date's
#   digits whole; question kinds tell a count from a date by their spans.
# - _DIGITS takes the digits a question writes, spaces (no other whitespace) inside, ending on a digit, even
#   inside a word ("F16"); _NUMBER_TEXT then reads them (`digit_numbers`).
_NUMBER_TEXT = r"\d{1,3}(?:[ ,]\d{3}(?!\d))+(?:\.\d+)?|\d+(?:\.\d+)?"
DIGIT_RUN = r"\b\d[\d,.\s]*\b"
_DIGITS = re.compile(r"\d(?:[\d,. ]*\d)?")
_NUMBER = re.compile(_NUMBER_TEXT)
# a number standing alone ("24th" and "1990s" are numbers too), else a word
_TOKEN = re.compile(rf"(?<![\w.])(?P<number>{_NUMBER_TEXT})(?:st|nd|rd|th|s)?(?!\w)|[\w'-]+")
_NUMERALS = dict(
    [(w, str(i)) for i, w in enumerate("zero one two three four five six seven eight nine ten".split()) if i != 1]
    + [(w, str(i)) for i, w in enumerate("eleven twelve thirteen fourteen fifteen sixteen".split(), 11)]
    + [(w, str(i)) for i, w in enumerate("seventeen eighteen nineteen".split(), 17)]
    + [(w, str(i * 10)) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)]
    + [(w, w) for w in ("hundred", "thousand", "million", "billion", "trillion", "dozen")]
)
_STEMMERS = threading.local()


def stemmer() -> Any:
    """The English Snowball stemmer (PyStemmer), made once per thread: an instance keeps state between calls and
    must not be used by two threads at once."""
    found = getattr(_STEMMERS, "english", None)
    if found is None:
        import Stemmer

        found = _STEMMERS.english = Stemmer.Stemmer("english")
    return found


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


# the words a question asks with: never what it asks about
ASKING = frozenset("what which who whom whose when where why how many much name names kind type".split())


@functools.cache
def asking_keys() -> frozenset[str]:
    """The asking words as `words` keys."""
    return frozenset(words(" ".join(sorted(ASKING))))


def words(text: str) -> set[str]:
    """Content words of `text` as match keys: lowered, Snowball-stemmed and cut to five letters, so that
    "Korea"/"Korean", "trains"/"training" and "deploy"/"deployment" meet; numbers are written alike, so that
    "3 000", "3,000" and "3000" meet, and "three" and "3"."""
    return {key for key, written in content_words(text) if written.lower() not in STOPWORDS}


@functools.lru_cache(maxsize=8192)
def content_words(text: str) -> tuple[tuple[str, str], ...]:
    """The content words of `text` in order: (match key, the word as written, or "" for a number). Stopwords
    are left out unless written in capitals ("US")."""
    found: list[tuple[str, str]] = []
    to_stem: list[int] = []
    for m in _TOKEN.finditer(text.translate(_FOLD)):
        if m.group("number"):
            found.append((re.sub("[ ,]", "", m.group("number")), ""))
            continue
        written = m.group().strip("'-")
        word = written.lower()
        if word in _NUMERALS:
            found.append((_NUMERALS[word], ""))
        elif word in STOPWORDS:
            if len(written) > 1 and written.isupper():
                found.append((word, written))
        elif len(word) > 1:
            to_stem.append(len(found))
            found.append((word, written))
    for at, stem in zip(to_stem, stemmer().stemWords([found[i][0] for i in to_stem]), strict=True):
        found[at] = (stem[:5], found[at][1])
    return tuple(found)


def numbers(text: str) -> set[str]:
    """The numbers of `text`, written alike: "12 000" and "12,000" as "12000", "three" as "3" ("one" is left
    out: it is mostly a pronoun)."""
    return set(_numbers(text))


@functools.lru_cache(maxsize=8192)
def _numbers(text: str) -> frozenset[str]:
    folded = re.sub(r"\s+", " ", text.translate(_FOLD).lower())
    found = {re.sub("[ ,]", "", n) for n in _NUMBER.findall(folded)}
    return frozenset(found | {_NUMERALS[w] for w in WORD.findall(folded) if w in _NUMERALS})


def digit_numbers(text: str) -> set[str]:
    """The numbers `text` writes in digits ("$4 million", "in 1349"), written alike as `numbers` writes them;
    numbers written in words are left out."""
    return numbers(" ; ".join(_DIGITS.findall(text)))


def plain(word: str) -> str:
    """A word as a key for telling names from common words: quote marks folded, lowered, without the
    apostrophes and hyphens around it or a possessive "'s"."""
    return word.translate(_FOLD).lower().strip("'-").removesuffix("'s")


def lower_case_words(texts: Sequence[str]) -> set[str]:
    """The words `texts` use in lower case: a capitalised one of them is a common word, not a name."""
    return {plain(w) for t in texts for w in WORD.findall(t.translate(_FOLD)) if w[:1].islower()}


def is_name(written: str, common: Collection[str] = ()) -> bool:
    """Whether a word, as written, is a proper name: capitalised, and neither a stopword (unless all in
    capitals: "US" is a name, "Us" is not) nor one of the `common` words (see `lower_case_words`)."""
    return (
        written[:1].isupper()
        and (written.isupper() or plain(written) not in STOPWORDS)
        and (plain(written) not in common)
    )


def name_keys(text: str, common: Collection[str] = (), lead: bool = True) -> set[str]:
    """The proper names of `text` as match keys (lowered, stemmed): its words of two letters or more that
    `is_name` accepts. Its first word is capitalised anyway: it counts only with `lead`."""
    found = WORD.findall(text.translate(_FOLD))[0 if lead else 1 :]
    capitalised = {w.strip("'-").removesuffix("'s") for w in found if w[:1].isupper()}
    kept = {plain(w) for w in capitalised if is_name(w, common)}
    return set(stemmer().stemWords([w for w in kept if len(w) > 1]))


def has_names(wanted: Collection[str], text: str) -> bool:
    """Whether `text` holds every name in `wanted` (keys from `name_keys`); a hyphenated word holds its parts."""
    if not wanted:
        return True
    keys = _word_keys(text)
    return all(n in keys or any(_same_name(n, k) for k in keys) for n in wanted)


def _same_name(a: str, b: str) -> bool:
    """Keys of one name: equal, or one a prefix of the other ("korea"/"korean", "ukrain"/"ukrainian")."""
    short, long = sorted((a, b), key=len)
    return a == b or (len(short) >= 4 and long.startswith(short) and len(long) - len(short) <= 3)


@functools.lru_cache(maxsize=8192)
def _word_keys(text: str) -> frozenset[str]:
    """Every word of `text` keyed as `name_keys` keys names; a hyphenated word also as its parts."""
    found = WORD.findall(text.translate(_FOLD))
    return frozenset(stemmer().stemWords([plain(p) for w in found for p in (w, *w.split("-")) if plain(p)]))
