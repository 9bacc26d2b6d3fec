"""Sentences of an English document written in another language: not read as evidence, whatever they say.

An order to the answering model can be written in any of a hundred languages, and a lexicon of the words of
answering in each (qa/injection/lexicon.py) only covers the ones it lists. What every such order has in common in
an English document is that it is not English. A sentence is taken for another language when most of its letters
are of another script (Arabic, Devanagari, Cyrillic, Han ...), or, for a sentence of prose (not code, a call or
a signature; at least six plain words in lower case, seven tokens in ten of them), when it holds fewer than two
of the commonest English words ("the", "of", "with", "to" ...) and fewer than half of its plain words are in the
English vocabulary shipped with the MiniLM tokenizer (`qa/data`).

Such a sentence is untrusted (never evidence; a reply's claim drawn from it is not credited) but not flagged as
an instruction: it may be a quotation in French or Dutch that gives no order. The rule is applied only to
documents written in English (`guess_language`): the vocabulary is English. On the seed article, squad2_500 and the
Python documentation it takes no sentence (eval/injection/README.md).
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources

from qa.text.lines import looks_like_code

_INLINE_CODE = re.compile(r"`[^`]*`")
_ROLE = re.compile(r":[\w.-]+:")  # a reST role, ":func:"
_CALL = re.compile(r"\w[(\[]|^\s*from [\w.]+ import ")  # a call, a signature, an import: code
_PLAIN = re.compile(r"[^\W\d_]+")
_EDGES = ".,;:!?()[]{}\"'“”‘’«»¶—–-…*"
# English words that are hardly words of another language: two of them make a sentence English ("to", "in",
# "on", "for", "is" are words of other languages too, but rarely two of these together)
_ENGLISH = frozenset(
    "to in on for is an the of and with from that this which are were has have been would should could their they "
    "there these those than then into but not can must your you we our its it be by or if when what who how why "
    "where all any each more most other such only some many new now may use used uses using does did".split()
)
MIN_WORDS = 6  # fewer plain words than this: no judgement (a heading, a name, a signature)
MIN_LETTERS = 20


@functools.cache
def english_words() -> frozenset[str]:
    """The whole words of the MiniLM tokenizer's vocabulary (lower case), read once from the package data."""
    data = resources.files("qa.data").joinpath("all-MiniLM-L6-v2.tokenizer.json").read_text(encoding="utf-8")
    vocab = json.loads(data)["model"]["vocab"]
    return frozenset(w for w in vocab if w.isalpha() and not w.startswith("##"))


def in_another_language(sentence: str) -> bool:
    """Whether an English document's sentence is written in another language (see the module)."""
    text = _ROLE.sub(" ", _INLINE_CODE.sub(" ", sentence))
    letters = [c for c in text if c.isalpha()]
    if len(letters) < MIN_LETTERS:
        return False
    if sum(latin_letter(c) for c in letters) * 2 < len(letters):
        return True
    if _CALL.search(text) or looks_like_code(text):
        return False
    tokens = text.split()
    words = [(t.strip(_EDGES), t) for t in tokens]
    plain = [w for w, t in words if _PLAIN.fullmatch(w) and w.islower() and not t.startswith(("*", "<", "{"))]
    if len(plain) < MIN_WORDS or len(plain) * 10 < len(tokens) * 7 or len(_ENGLISH.intersection(plain)) >= 2:
        return False
    english = english_words()
    return sum(w in english for w in plain) * 2 < len(plain)


def latin_letter(c: str) -> bool:
    """Whether `c` is a letter of the Latin script (with its accented forms)."""
    low = c.lower()
    return "a" <= low <= "z" or "\u00e0" <= low <= "\u024f"
