"""One question's scores (`Scores`) and the run's figures made from them (`aggregate`), with the definition of
every figure (`DEFINITIONS`) and which of them are rates or counts.

A figure whose denominator is empty (no citations, no unanswerable questions, ...) is None, shown as "n/a":
never a silent 0 or 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qa.evaluation.metrics import mean, percentile, prf, ratio

Value = float | int | None


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
    "words, in the answer text or a quote (a gold answer written in symbols alone, `//`, as written)",
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
