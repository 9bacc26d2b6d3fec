"""A sentence as it reads once the disguises a reader's eye sees through are taken off: pure functions, no I/O.

Text written to slip past a detector of instructions while a model still reads it: letters spaced out
("A S S I S T A N T"), dotted ("I.g.n.o.r.e"), look-alike letters of another script inside Latin words
("Іnstruсtіоn" with Cyrillic І, с, і, о), zero-width characters, full-width letters, digits for letters in most
words ("4551574N7", leetspeak), a sentence written backwards (".siht daer"). `unmasked` undoes each of them, for
the detector to read the sentence a second time; the text itself, its offsets and what is quoted are never
changed. (Alternating case, "nOtE fOr ThE bOt", is no disguise: the detector ignores case.)
"""

from __future__ import annotations

import re
import unicodedata

from qa.injection.foreign import latin_letter

# letters of Cyrillic and Greek that look like Latin ones
_LOOKALIKES = str.maketrans(
    "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅУοαινρτυχκΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlABEKMHOPCTXIJSYoaivptyxkABEZHIKMNOPTYX",
)
_FOREIGN = frozenset("аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅУοαινρτυχκΑΒΕΖΗΙΚΜΝΟΡΤΥΧ")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W_] ){2,}[^\W_](?![^\W_])")  # "A S S I S T", letters one space apart
_DOTTED = re.compile(r"(?<![^\W_])(?:[^\W\d_][.\-*·]){3,}[^\W\d_](?![^\W_])")  # "I.g.n.o.r.e"
_WORD = re.compile(r"[^\W\d_]+")
_LEET = str.maketrans("4310572$@", "aeiostzsa")
# a word of letters and of the digits that stand for letters
_LEET_WORD = re.compile(r"(?=\w*[a-zA-Z])(?=\w*[431057])\w{3,}")
_COMMON = frozenset(
    "the a an and or of to in on for is are was be this that it with as by not any only all your you".split()
)


def unmasked(sentence: str) -> str | None:
    """The sentence without its disguises, or None when it wears none (nothing to read again)."""
    text = unicodedata.normalize("NFKC", sentence).translate(_INVISIBLE)
    text = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), text)
    text = re.sub(r" {2,}", " ", text) if text != sentence else text
    text = _DOTTED.sub(lambda m: re.sub(r"[.\-*·]", "", m.group(0)), text)
    if not _FOREIGN.isdisjoint(text) and _mostly_latin(text):  # look-alikes to spell in Latin letters
        text = _WORD.sub(_latin, text)
    words = text.split()
    if len(_LEET_WORD.findall(text)) >= max(3, len(words) // 3):  # leetspeak: most words spelled with digits
        text = text.translate(_LEET)
    if _common(text[::-1]) >= max(3, 2 * _common(text) + 1):  # written backwards
        text = text[::-1]
    return text if text != sentence else None


def _common(text: str) -> int:
    """How many of the text's words are among the commonest English words."""
    return sum(w in _COMMON for w in text.lower().split())


def _mostly_latin(text: str) -> bool:
    """Whether most letters of `text` that are not look-alikes are Latin: a sentence written in Latin letters."""
    letters = [c for c in text if c.isalpha() and c not in _FOREIGN]
    return sum(latin_letter(c) for c in letters) * 2 > len(letters)


def _latin(match: re.Match[str]) -> str:
    """A word of a Latin sentence with look-alike letters of another script, spelled in Latin ones: it holds a
    Latin letter, or every letter of it has a Latin look-alike (a word in Cyrillic or Greek proper has letters
    that do not)."""
    word = match.group(0)
    if not any(c in _FOREIGN for c in word):
        return word
    latin = any("a" <= c.lower() <= "z" for c in word)
    return word.translate(_LOOKALIKES) if latin or all(c in _FOREIGN for c in word) else word
