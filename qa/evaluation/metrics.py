"""Evaluation metrics: pure, deterministic functions over strings and per-question scores; no LLM judge.

Answers are compared after SQuAD normalisation (`normalize`). A metric whose denominator is empty (no
citations, no unanswerable questions, ...) is None, shown as "n/a": never a silent 0 or 1.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

Value = float | int | None

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_MARKERS = re.compile(r"\s*\[\d+\]")
EVIDENCE_COVERAGE = 0.8  # share of an evidence sentence's tokens a passage must hold to count as retrieving it
OVERLAP_F1 = 0.5  # token F1 at which a quote overlaps an evidence sentence


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


def strip_markers(text: str) -> str:
    """The answer text without its citation markers ("It is so [1]." -> "It is so.")."""
    return _MARKERS.sub("", text)


def contains(haystack: str, needle: str) -> bool:
    """Whether normalised `needle` (non-empty) occurs in normalised `haystack` as whole words."""
    small = normalize(needle)
    return bool(small) and f" {small} " in f" {normalize(haystack)} "


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


SENTENCE_FINAL = ".!?…:;"
CLOSERS = "\"'”’»›)]}"  # closing quotes and brackets that may follow a sentence's final punctuation
# what starts a new block on the next line: indentation, a list marker, a heading, a table row, a code fence
_BLOCK_START = re.compile(r"[ \t]+\S|(?:[-*+•]|\d+[.)])[ \t]|#|\||```|~~~")
_LINE_PREFIX = re.compile(r"[ \t]*(?:(?:[-*+•]|\d+[.)]|#+|>|\|)[ \t]*)?")  # indentation and a block marker
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)


def _block_line(document: str, line_start: int) -> bool:
    """Whether the line starting at `line_start` is a block of its own: it opens with a block marker (or
    indentation), or it lies inside a fenced code block."""
    line_end = document.find("\n", line_start)
    if _BLOCK_START.match(document[line_start : line_end if line_end >= 0 else None]):
        return True
    return len(_FENCE.findall(document, 0, line_start)) % 2 == 1


def ends_mid_sentence(document: str, start: int, end: int) -> bool:
    """Whether the quote `document[start:end]` stops where its document goes on with the same sentence.

    Independent of qa's sentence splitter. The quote ends cleanly if, past any trailing whitespace, it reaches
    the end of the document; or its last character is sentence-final punctuation (. ! ? … : ;), optionally
    followed by closing quotes or brackets; or the document goes on with a blank line, or with a line break
    and the start of a new block (indentation, a list marker, a heading `#`, a table row `|`, a code fence);
    or it is a whole line that is a block of its own (a heading, list item, table row or code line), or a
    table cell (a tab follows it).
    Anything else (mid-line, or at a hard-wrapped line break followed by more of the sentence) is counted.
    """
    body = document[start:end].rstrip()
    rest = document[start + len(body) :]
    last = body.rstrip(CLOSERS)[-1:]
    if not body or not rest.strip() or (last and last in SENTENCE_FINAL):
        return False
    if rest.startswith("\t"):
        return False  # a table cell: the loaders separate cells with a tab
    line_end = re.match(r"[ \t|]*(?:\r?\n|$)", rest)
    if line_end is None:
        return True  # the line goes on
    following = rest[line_end.end() :]
    if re.match(r"[ \t]*(?:\r?\n|$)", following) or _BLOCK_START.match(following):
        return False  # a blank line, or a new block, follows
    line_start = document.rfind("\n", 0, start + len(body)) + 1
    whole = start <= line_start or _LINE_PREFIX.fullmatch(document[line_start:start]) is not None
    return not (whole and _block_line(document, line_start))


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least q% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def prf(true_positives: int, predicted: int, actual: int) -> tuple[float | None, float | None, float | None]:
    """Precision, recall and F1 from counts; None where a denominator is 0."""
    precision, recall = ratio(true_positives, predicted), ratio(true_positives, actual)
    if precision is None or recall is None:
        return precision, recall, None
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


@dataclass(frozen=True)
class Scores:
    """One question's scores. A failed question (an exception) counts as answered wrongly and not refused."""

    answerable: bool
    refused: bool
    failed: bool
    em: float
    f1: float
    contained: bool
    doc_recall: float | None  # None without gold documents
    rr: float | None
    evidence_recall: float | None  # None without gold evidence
    citations: int
    valid_citations: int
    supporting_citations: int
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    mid_sentence_citations: int = 0  # citations whose quote ends in the middle of a sentence (`ends_mid_sentence`)
    without_gold_refused: bool | None = None  # asked again with its gold documents left out: refused? (None: not)

    @property
    def correct(self) -> bool:
        """Answerable: answered with a gold answer in the text or quotes. Unanswerable: refused."""
        return (not self.refused and self.contained) if self.answerable else self.refused


def _retrieval(rows: Sequence[Scores]) -> dict[str, Value]:
    docs = [r for r in rows if r.answerable and r.doc_recall is not None]
    evidence = [r.evidence_recall for r in rows if r.answerable and r.evidence_recall is not None]
    return {
        "doc_recall_at_k": mean([r.doc_recall or 0.0 for r in docs]),
        "evidence_recall_at_k": mean(evidence),
        "mrr": mean([r.rr or 0.0 for r in docs]),
    }


def _answers(rows: Sequence[Scores]) -> dict[str, Value]:
    answerable = [r for r in rows if r.answerable]
    overall = [(r.em, r.f1) if r.answerable else (float(r.refused),) * 2 for r in rows]
    return {
        "accuracy": mean([float(r.correct) for r in rows]),
        "gold_contained": mean([float(r.contained and not r.refused) for r in answerable]),
        "exact_match": mean([r.em for r in answerable]),
        "f1": mean([r.f1 for r in answerable]),
        "squad2_exact_match": mean([em for em, _ in overall]),
        "squad2_f1": mean([f for _, f in overall]),
    }


def _citations(rows: Sequence[Scores]) -> dict[str, Value]:
    answerable = [r for r in rows if r.answerable]
    return {
        "quote_validity": ratio(sum(r.valid_citations for r in rows), sum(r.citations for r in rows)),
        "citation_precision": ratio(
            sum(r.supporting_citations for r in answerable), sum(r.citations for r in answerable)
        ),
        "citation_recall": mean([float(r.supporting_citations > 0) for r in answerable]),
        "quotes_mid_sentence": sum(r.mid_sentence_citations for r in rows),
        "quotes_mid_sentence_share": ratio(sum(r.mid_sentence_citations for r in rows), sum(r.citations for r in rows)),
    }


def _refusals(rows: Sequence[Scores]) -> dict[str, Value]:
    hits = sum(r.refused and not r.answerable for r in rows)
    precision, recall, f = prf(hits, sum(r.refused for r in rows), sum(not r.answerable for r in rows))
    asked = [r.without_gold_refused for r in rows if r.without_gold_refused is not None]
    return {
        "refusal_precision": precision,
        "refusal_recall": recall,
        "refusal_f1": f,
        "without_gold_refused": mean([float(refused) for refused in asked]),
    }


def _cost(rows: Sequence[Scores]) -> dict[str, Value]:
    done = [r for r in rows if not r.failed]
    latencies = [r.latency_ms for r in rows]
    return {
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "prompt_tokens": mean([r.prompt_tokens for r in done]),
        "completion_tokens": mean([r.completion_tokens for r in done]),
        "failures": sum(r.failed for r in rows),
    }


def aggregate(rows: Sequence[Scores]) -> dict[str, Value]:
    """Every run-level metric from the per-question scores (see `DEFINITIONS`)."""
    return {**_retrieval(rows), **_answers(rows), **_citations(rows), **_refusals(rows), **_cost(rows)}


DEFINITIONS: dict[str, str] = {
    "doc_recall_at_k": "share of answerable questions with a passage from a gold document among the top k retrieved",
    "evidence_recall_at_k": "share of answerable questions with a top-k passage that contains a gold evidence "
    "sentence (normalised substring, or >= 80% of its tokens)",
    "mrr": "mean over answerable questions of 1/rank of the first passage from a gold document (0 if not in top k)",
    "accuracy": "share of all questions handled right: answerable -> answered with a gold answer in the text or "
    "quotes; unanswerable -> refused",
    "gold_contained": "share of answerable questions answered (not refused) with a normalised gold answer, as whole "
    "words, in the answer text or a quote",
    "exact_match": "SQuAD exact match of the answer text (markers stripped) against any gold answer, over "
    "answerable questions (a refusal scores 0)",
    "f1": "SQuAD token F1 of the answer text against the best gold answer, over answerable questions "
    "(a refusal scores 0)",
    "squad2_exact_match": "SQuAD 2.0 convention over all questions: exact match if answerable, 1 if an "
    "unanswerable question was refused",
    "squad2_f1": "SQuAD 2.0 convention over all questions: F1 if answerable, 1 if an unanswerable question was refused",
    "quote_validity": "share of all citations whose quote equals the document text at its offsets (must be 100%)",
    "citation_precision": "share of citations (of answerable questions) whose quote overlaps a gold evidence "
    "sentence (containment either way, or token F1 >= 0.5) or contains a gold answer",
    "citation_recall": "share of answerable questions with at least one such supporting citation",
    "quotes_mid_sentence": "citations whose quote ends in the middle of a sentence of its document: not at the "
    "document's end, sentence-final punctuation (. ! ? … : ;, then any closing quotes or brackets), a blank line, "
    "a new block (list item, heading, table row, code fence, indented line) or the end of such a line (should be 0)",
    "quotes_mid_sentence_share": "the same as a share of all citations",
    "refusal_precision": "share of refusals that were for unanswerable questions",
    "refusal_recall": "share of unanswerable questions that were refused",
    "refusal_f1": "harmonic mean of refusal precision and recall",
    "without_gold_refused": "share of answerable questions refused when asked again with their gold documents left "
    "out of the search (`--without-gold`; n/a without it)",
    "latency_p50_ms": "median wall-clock time of `qa.ask` per question, nearest-rank percentile, ms",
    "latency_p95_ms": "95th percentile of the same, nearest-rank, ms",
    "prompt_tokens": "mean prompt tokens per answer (tiktoken o200k_base; 0 for the extractive backend)",
    "completion_tokens": "mean completion tokens per answer (tiktoken o200k_base)",
    "failures": "questions whose search or answer raised an error (recorded, counted wrong, run continues)",
}
COUNTS = ("failures", "quotes_mid_sentence")
RATES = tuple(name for name in DEFINITIONS if not name.endswith(("_ms", "_tokens")) and name not in COUNTS)
