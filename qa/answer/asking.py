"""How a question is put, beyond the kind of answer it asks for (qa/answer/kinds.py): whether it asks yes or no,
the noun a what/which question asks for by name ("What exit status ...?"), and what it says only of where to look
("according to the argparse tutorial"). Pure functions on text.
"""

from __future__ import annotations

import re

from qa.answer.kinds import AUX, CATEGORY_NOUNS, answer_type, main_clause
from qa.text.words import STOPWORDS

_AUX_WORDS = frozenset(re.findall(r"\w+", AUX))
_PHRASE_WORD = re.compile(r"[\w'’.-]+|[^\w\s]")
_OBJECTS = frozenset("a an the this these those it its you your we our us they them their he his she her my".split())
_PREPOSITIONS = (STOPWORDS - _AUX_WORDS - {"of", "or", "and"}) | frozenset("down out forth if while before so".split())
_GENERIC_NOUNS = frozenset(
    "number kind kinds type types name names way ways value values amount part parts sort".split()
)
_CATEGORY = re.compile(rf"^(?:{CATEGORY_NOUNS})s?$", re.I)
# "according to the argparse tutorial", "according to the tutorial's coding style advice": the document, not the
# answer ("according to HUR" names who said it, which the answer may say too, so it stays)
_SOURCE = re.compile(
    r",?\s*\baccording to (?:the |this |its )?(?:[\w.’'-]+ ){0,3}?(?:tutorial|documentation|docs|manual|guide|"
    r"handbook|faq|how-?to|reference|page|article)(?:['’]s(?: [\w-]+){1,3})?\b,?",
    re.I,
)


def without_source(question: str) -> str:
    """The question without what it says only of the document to look in ("According to the argparse tutorial,
    what value ...?" -> "what value ...?"): those words pull towards a page's introduction, which names the page,
    rather than towards the answer."""
    stripped = re.sub(r"\s+(?=[?.!]$)", "", _SOURCE.sub(" ", question).strip())
    return stripped if stripped != question and len(stripped) > 8 else question


def asked_nouns(question: str) -> list[str]:
    """The noun a what/which question asks for, as written: "What exit status does ...?" -> ["status"], "Which
    operating system call or device ...?" -> ["call", "device"], "What is the worst-case time complexity of
    ...?" -> ["complexity"]. Empty when the question asks for a member of a class named otherwise (a
    function, an exception, a city, a year: `_CATEGORY`), opens on a verb ("What makes ...?", "What happened
    ...?") or asks "What is X?"."""
    found = re.match(r"\s*(?:what|which)\s+(.*)", main_clause(question), re.I | re.S)
    if not found or answer_type(question) == "reason":
        return []
    tokens = [t.lower() for t in _PHRASE_WORD.findall(found.group(1))]
    if tokens[:1] and tokens[0] in ("is", "are", "was", "were"):
        if tokens[1:2] not in (["the"], ["a"], ["an"]):
            return []  # "what is X?": open
        tokens = tokens[2:]
    phrase: list[str] = []
    for at, token in enumerate(tokens):
        after = tokens[at + 1] if at + 1 < len(tokens) else "?"
        if not token[0].isalnum() or token in _AUX_WORDS or (token in STOPWORDS and token not in ("of", "or")):
            break
        # a verb: a word in -ed ("what caused ..."), one before an article or a pronoun ("which ... lets you",
        # "which variables let a user ..."), one in -s before a preposition or a conjunction ("what happens to",
        # "which weekday counts as ...")
        if token.endswith("ed") or after in _OBJECTS or (token.endswith("s") and after in _PREPOSITIONS):
            break
        phrase.append(token)
    while phrase and phrase[-1] in ("of", "or"):
        phrase.pop()
    for part in " ".join(phrase).split(" of "):  # "the maximum number of case blocks": blocks
        heads = [alt.split()[-1] for alt in part.split(" or ") if alt.split() and alt.split()[-1] != "of"]
        if any(_CATEGORY.match(h) for h in heads):
            return []
        if heads and not all(h in _GENERIC_NOUNS for h in heads):
            return [h for h in heads if h not in _GENERIC_NOUNS]
    return []


_NOT = r"(?:isn|aren|wasn|weren|doesn|don|didn|can|couldn|won|wouldn|shouldn|hasn|haven)['’]t\b"
_YES_NO = re.compile(rf"^\s*(?:[^,]*,\s*)?(?:{AUX}|{_NOT})", re.I)


def yes_no(question: str) -> bool:
    """Whether the question (its last sentence: "My call returned nothing. Is that an error?") asks yes or no:
    it opens on a verb ("Is ...?", "Can I ...?", "If ..., does ...?")."""
    return bool(_YES_NO.match(re.split(r"(?<=[.!?])\s+(?=\S)", question.strip())[-1]))
