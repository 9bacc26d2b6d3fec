"""Whether the sentence the extractive backend would answer with is evidence of an answer: pure functions on
text, no I/O.

A question asked of documents that do not hold its answer still finds passages on its topic: the same article's
other paragraphs, a page about the same library. Their best sentence shares the topic's words and may even hold
the kind of thing asked for ("Which airline was fined a record $4 million?" met by "The federal government fined
American Airlines $50 million"), so similarity alone cannot tell it from an answer. What such a passage lacks is
what the question says about its topic: the number or the name it states, and its rarer words. The retrieved
passages of the document the sentence stands in must hold

- every number the question writes in digits ("$4 million", "in 1349"),
- every name the question gives (a capitalised word that the passages do not also use in lower case),
- in documentation, the thing a what/which question asks for ("What exit status ...?": `absent_asked`), and
- for a yes-no question, most of the question's distinctive wording (`YES_NO_MAX_MISSING`): words weighted by how
  rare they are among the retrieved passages' sentences, so that a word every passage shares counts little and one
  no sentence holds counts most.

A word is found when the passage holds it stemmed ("Brazil"/"Brazilian"), spelled one letter apart ("Zeria" for
"Zeira", a typo in the question), or, for a word in capitals, as the initials of a capitalised run ("EU" for
"European Union").

`MAX_MISSING` (with a score floor of 0.42) was chosen on the first half of
squad2_500 with each answerable question also asked with its gold paragraph left out of the search; it is not
applied by default (see `Evidence.answers`): it refused too many answerable questions elsewhere. Only a yes-no
question is held to a limit by default, its own (`YES_NO_MAX_MISSING`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from qa.answer.asking import asked_nouns, yes_no
from qa.injection.detect import trusted_text
from qa.records import Passage
from qa.text.sentences import sentence_spans
from qa.text.words import STOPWORDS, asking_keys, digit_numbers, lower_case_words, numbers, plain, words

_WRITTEN = re.compile(r"[A-Za-z][\w'’-]*")
_LINKING = frozenset("of the and for de la du von van".split())  # skipped when reading initials
# What a question writes as an example rather than states: a quoted string ('README.TXT', "*.txt") and, for numbers,
# code with an argument, an index or a value in it (`tabsize=4`, `sys.argv[0]`, `seek(0, 2)`). The user's own
# example need not stand in the documentation that answers them.
_QUOTED = re.compile(r"(?<![\w'’])['\"‘“][^'\"‘’“”\n]*['\"’”](?![\w'’])|`[^`\n]*`")
_CODE_WITH_VALUES = re.compile(r"\S*\w[=(\[]\S*")
_DOTTED = re.compile(r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")  # a dotted name of code: `json.dumps`
_SNAKE = re.compile(r"(?<![\w.])_*[A-Za-z][A-Za-z0-9]*(?:_+[A-Za-z0-9]+)+_*(?![\w.])")  # `store_false`, `sort_keys`
_MARKED_CODE = re.compile(r"`[^`\n]+`|^[ \t>]*```", re.M)  # code marked as code: what documentation writes
# A yes-no question states all it asks ("Is copy.deepcopy() thread-safe if ...?"), so a document that answers it
# holds most of its words; a wh-question leaves out what it asks for, and a document may answer it in other words.
# On the tuning questions (eval/README.md), the documents of right answers to yes-no questions lacked at most 0.29
# of the weighted words, those answering questions they do not hold 0.56 or more.
YES_NO_MAX_MISSING = 0.5
# A document lacking more than this share of the question's weighted words does not answer it. Chosen with
# min_evidence 0.42 on the first half of squad2_500 (75% of its questions refused with their gold paragraph left
# out), it also refused 10 of the 35 answerable seed questions: it is not applied by default (`answers()`).
MAX_MISSING = 0.65


@dataclass(frozen=True)
class Evidence:
    """What the question states that the passages of the best sentence's document do not hold."""

    missing: float  # weighted share of the question's distinctive words the passage lacks (0..1)
    absent_numbers: frozenset[str]  # numbers the question writes in digits, as `numbers` writes them
    absent_names: frozenset[str]  # names the question gives, as written
    absent_asked: frozenset[str] = frozenset()  # the noun asked for ("what exit status"), in documentation
    max_missing: float | None = None  # the most of `missing` the question allows (a yes-no question's limit)

    def answers(self, max_missing: float | None = None) -> bool:
        """Whether the passage can hold the answer: every stated number and name, in documentation the thing
        asked for, and all but `max_missing` (the caller's, else the question's own) of the rest of the
        question's weighted words."""
        limit = self.max_missing if max_missing is None else max_missing
        enough = limit is None or self.missing <= limit
        return not self.absent_numbers and not self.absent_names and not self.absent_asked and enough


def weigh(question: str, passages: Sequence[str]) -> dict[str, float]:
    """The question's distinctive words (match keys of `words`, question words left out), each weighted by
    its rarity among the passages' sentences: log((sentences + 1) / (1 + sentences holding it)) + 0.1."""
    asked = words(question) - asking_keys()
    sentences = [words(text[s:e]) for text in passages for s, e in sentence_spans(text)]
    total = len(sentences) + 1
    return {w: math.log(total / (1 + sum(w in s for s in sentences))) + 0.1 for w in sorted(asked)}


def missing_share(weights: dict[str, float], passage: str) -> float:
    """The weighted share of the words that `passage` does not hold (0 when there are none)."""
    mass = sum(weights.values())
    if not mass:
        return 0.0
    lacking = [w for w in weights if not _holds(w, passage)]
    return sum(weights[w] for w in lacking) / mass


def absent_numbers(question: str, passage: str) -> frozenset[str]:
    """The numbers the question writes in digits that the passage does not state (in any writing); numbers in
    the question's examples (quoted strings, code with values) are not stated."""
    stated = digit_numbers(_CODE_WITH_VALUES.sub(" ", _QUOTED.sub(" ", question)))
    return frozenset(stated - numbers(passage)) if stated else frozenset()


def question_names(question: str, common: Collection[str]) -> list[str]:
    """The names the question gives: its capitalised words after the first, except stopwords ("I'm" too) and the
    words in `common` (used in lower case by the passages or the question, so common words), and none inside a
    quoted string (an example: 'README.TXT')."""
    found = _WRITTEN.findall(_QUOTED.sub(" ", question))[1:]
    return [
        w
        for w in found
        if w[:1].isupper() and re.split("['’]", w.lower())[0] not in STOPWORDS and plain(w) not in common and words(w)
    ]


def absent_names(question: str, passage: str, context: Sequence[str]) -> frozenset[str]:
    """The names the question gives that the passage does not hold (as words, stemmed, one letter apart or as
    initials); `context` is the text whose lower-case words are common words, not names. A dotted name of code
    (`pprint.pprint`, `textwrap.shorten`) is a name too: the passage must hold one of its parts as a word; and so is
    a name joined by underscores (`store_false`, `node_modules`), quoted or not, which it must hold as written."""
    common = lower_case_words([question, *context])
    lacking = set()
    for name in question_names(question, common):
        keys = words(name)
        if not all(_holds(k, passage) for k in keys) and not (name.isupper() and name in _initials(passage)):
            lacking.add(name)
    written = _word_set(passage)
    for dotted in _DOTTED.findall(question):
        parts = dotted.lower().split(".")
        if all(len(part) > 1 for part in parts) and not written.intersection(parts):  # not "U.S.", "e.g."
            lacking.add(dotted)
    lacking.update(name for name in _SNAKE.findall(question) if name.lower() not in written)
    return frozenset(lacking)


def absent_asked(question: str, passage: str) -> frozenset[str]:
    """The noun the question asks for ("What exit status ...?", "Which colours ...?": `asked_nouns`) when the
    passage is documentation (it marks code: `inline` or a fenced block) and holds none of its words. A page
    about code calls things by their names: one that never writes "exit status" does not say which exit status
    a tool returns. Prose (news, an encyclopaedia) names the same thing in many ways ("organization" for "the
    UN"), so it is not asked of prose."""
    asked = asked_nouns(question)
    if not asked or not _MARKED_CODE.search(passage):
        return frozenset()
    if any(all(_holds(k, passage) for k in words(noun)) for noun in asked if words(noun)):
        return frozenset()
    return frozenset(asked)


def judge(question: str, doc_id: str, passages: Sequence[Passage]) -> Evidence:
    """The evidence that the retrieved passages of document `doc_id` (where the best sentence stands) hold
    an answer to `question`: what the question states may stand in the sentence's neighbours, or in another
    retrieved passage of that document (a long page's heading, its first paragraph). A block of a passage
    that holds an instruction to the model is no evidence (qa/injection/detect.py)."""
    texts = [p.text for p in passages]
    own = "\n\n".join(trusted_text(p.text) for p in passages if p.doc_id == doc_id)
    return Evidence(
        missing_share(weigh(question, texts), own),
        absent_numbers(question, own),
        absent_names(question, own, texts),
        absent_asked(question, own),
        YES_NO_MAX_MISSING if yes_no(question) else None,
    )


def _holds(key: str, text: str) -> bool:
    """Whether `text` holds the word whose match key is `key`: as it is, or one edit away (a word of five
    letters or more: a typo, "affext" for "affect")."""
    keys = _keys(text)
    return key in keys or (len(key) >= 5 and any(_one_edit(key, k) for k in keys if k[:1] == key[:1]))


@functools.lru_cache(maxsize=1024)
def _keys(text: str) -> frozenset[str]:
    return frozenset(words(text))


@functools.lru_cache(maxsize=1024)
def _word_set(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", text.lower()))


@functools.lru_cache(maxsize=1024)
def _initials(text: str) -> frozenset[str]:
    """The initials of every run of capitalised words in `text` ("European Union" -> "EU"), linking words
    ("of", "the") skipped, runs of two words or more."""
    found: set[str] = set()
    run: list[str] = []
    for w in [*_WRITTEN.findall(text), ""]:
        if w[:1].isupper():
            run.append(w[0])
        elif w.lower() in _LINKING and run:
            continue
        else:
            found.update("".join(run[i:j]) for i in range(len(run)) for j in range(i + 2, len(run) + 1))
            run = []
    return frozenset(found)


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by one inserted, deleted or changed letter, or two swapped neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            return a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        return len(diff) == 1
    short, long = sorted((a, b), key=len)
    i = next((i for i, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1 :]
