"""The metric functions: pure and deterministic, over strings (answers, quotes, passages) and numbers; no LLM
judge. Answers are compared after SQuAD normalisation (`normalize`). What a question scores and how a run's
figures are made from the scores is qa/evaluation/scores.py's job; where a quote ends, qa/evaluation/quote_ends.py's.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
EVIDENCE_COVERAGE = 0.8  # share of an evidence sentence's tokens a passage must hold to count as retrieving it
OVERLAP_F1 = 0.5  # token F1 at which a quote overlaps an evidence sentence
_OPERATORS = frozenset("!#$%&*+-/<=>?@\\^|~")  # symbols that run together into one operator: `//=`, `<=`


def _is_punctuation(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")


def normalize(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation (ASCII and Unicode, e.g. typographic quotes), drop
    the articles a/an/the, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if not _is_punctuation(ch))
    return " ".join(_ARTICLES.sub(" ", text).split())


def tokens(text: str) -> list[str]:
    """The normalised text's words."""
    return normalize(text).split()


def contains(haystack: str, needle: str) -> bool:
    """Whether normalised `needle` (non-empty) occurs in normalised `haystack` as whole words; a `needle` written
    in symbols alone, which normalises to nothing, as `symbols_in` finds it."""
    small = normalize(needle)
    if not small:
        return symbols_in(haystack, needle)
    return f" {small} " in f" {normalize(haystack)} "


def symbols_in(haystack: str, needle: str) -> bool:
    """Whether `needle`, written in symbols alone (a gold answer in code: `//`, `$`, `(',', ':')`), occurs in
    `haystack` as written, spaces and the backticks of inline code aside, and not inside a longer run of operator
    symbols (`//` in `//=`, `<` in `<=`). A needle with a letter or a digit, or with nothing, is not one; nor is
    a mark or two of a sentence's punctuation without an operator symbol (a stray "." among SQuAD's answers)."""
    symbols = " ".join(needle.replace("`", " ").split())
    if not symbols or any(ch.isalnum() for ch in symbols):
        return False
    if len(symbols) < 3 and _OPERATORS.isdisjoint(symbols):
        return False
    text = " ".join(haystack.replace("`", "").split())
    at = text.find(symbols)
    while at >= 0:
        end = at + len(symbols)
        if (at == 0 or text[at - 1] not in _OPERATORS) and (end == len(text) or text[end] not in _OPERATORS):
            return True
        at = text.find(symbols, at + 1)
    return False


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any normalised gold answer, else 0.0 (SQuAD EM)."""
    return float(any(normalize(prediction) == normalize(g) for g in golds))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1: harmonic mean of token precision and recall of the normalised bags of words."""
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if not same:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, golds: Sequence[str]) -> float:
    """The best token F1 of the prediction against any gold answer (0.0 without gold answers)."""
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def gold_contained(answer: str, quotes: Sequence[str], golds: Sequence[str]) -> bool:
    """Whether a normalised gold answer occurs, as whole words, in the answer text or in any quote."""
    return any(contains(text, g) for text in (answer, *quotes) for g in golds)


def coverage(sentence: str, passage: str) -> float:
    """Share of the sentence's normalised tokens (as a bag) that the passage holds."""
    need = Counter(tokens(sentence))
    if not need:
        return 0.0
    return sum((need & Counter(tokens(passage))).values()) / sum(need.values())


def evidence_retrieved(evidence: Sequence[str], passages: Sequence[str]) -> bool:
    """Whether a passage holds a gold evidence sentence: the normalised sentence occurs in the normalised
    passage, or the passage holds at least `EVIDENCE_COVERAGE` (80%) of the sentence's tokens."""
    return any(contains(p, e) or coverage(e, p) >= EVIDENCE_COVERAGE for e in evidence for p in passages)


def reciprocal_rank(retrieved: Sequence[str], gold_docs: Sequence[str]) -> float:
    """1 / rank of the first retrieved passage from a gold document (ranks from 1), 0.0 if none."""
    return next((1.0 / rank for rank, doc in enumerate(retrieved, 1) if doc in gold_docs), 0.0)


def doc_recall(retrieved: Sequence[str], gold_docs: Sequence[str]) -> float:
    """1.0 if any retrieved passage comes from a gold document, else 0.0 (recall@k when `retrieved` is the top k)."""
    return float(any(doc in gold_docs for doc in retrieved))


def quote_valid(quote: str, document: str, start: int, end: int) -> bool:
    """Whether the quote is exactly the document's text at its offsets."""
    return 0 <= start <= end <= len(document) and document[start:end] == quote


def overlaps(quote: str, sentence: str) -> bool:
    """A quote overlaps an evidence sentence if either contains the other (normalised, whole words) or
    their token F1 is at least `OVERLAP_F1` (0.5)."""
    return contains(quote, sentence) or contains(sentence, quote) or token_f1(quote, sentence) >= OVERLAP_F1


def supports(quote: str, evidence: Sequence[str], golds: Sequence[str]) -> bool:
    """Whether a citation's quote backs the gold answer: it overlaps a gold evidence sentence or contains
    a gold answer (ALCE-style citation support, decided by string overlap instead of an NLI model)."""
    return any(overlaps(quote, e) for e in evidence) or any(contains(quote, g) for g in golds)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean, or None without values."""
    return sum(values) / len(values) if values else None


def ratio(part: int, whole: int) -> float | None:
    """part / whole, or None when there is no whole."""
    return part / whole if whole else None


def prf(true_positives: int, predicted: int, actual: int) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 from counts; None where a denominator is 0."""
    precision, recall = ratio(true_positives, predicted), ratio(true_positives, actual)
    if precision is None or recall is None:
        return precision, recall, None
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)
