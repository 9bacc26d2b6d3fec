"""Checking and scoring one answered question: each citation checked against its document and the question's
gold evidence, the retrieved passages as results.jsonl lists them, and the question's `Scores`.

Pure functions: the documents' texts come in through a lookup, the retrieved passages with the `Answer` (the
numbered passages it was given, in rank order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from qa.answer.citations import strip_markers
from qa.evaluation import metrics
from qa.evaluation.questions import Question
from qa.evaluation.quote_ends import ends_mid_sentence
from qa.evaluation.results import WithoutGold
from qa.evaluation.scores import Scores
from qa.records import Answer, Citation, Passage

__all__ = ["DocText", "check_citations", "retrieved", "score"]

DocText = Callable[[str], str | None]  # a stored document's text by its id (None: no such document)


def check_citations(
    q: Question, citations: Sequence[Citation], text_of: DocText, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each citation as results.jsonl lists it: its wire fields, the question set's name of its document, and
    whether its quote is verbatim (`valid`), backs the gold answer (`supports`) and ends mid-sentence."""
    checked = []
    for c in citations:
        text = text_of(c.doc_id)
        valid = text is not None and metrics.quote_valid(c.quote, text, c.start, c.end)
        supports = metrics.supports(c.quote, q.evidence, q.answers)
        cut = ends_mid_sentence(text, c.start, c.end) if text is not None and valid else None
        doc = names.get(c.doc_id, c.doc_id)
        checked.append({**c.to_dict(), "doc": doc, "valid": valid, "supports": supports, "ends_mid_sentence": cut})
    return checked


def retrieved(passages: Sequence[Passage], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """The passages an answer was given, in rank order, as results.jsonl lists them."""
    return [
        {"doc": names.get(p.doc_id, p.doc_id), "chunk_id": p.hit.chunk_id, "start": p.start, "end": p.end,
         "score": round(p.hit.score, 6)}
        for p in passages
    ]  # fmt: skip


def score(
    q: Question,
    answer: Answer | None,
    cites: Sequence[dict[str, Any]],
    ranked: Sequence[dict[str, Any]],
    latency_ms: float,
    again: WithoutGold | None = None,
) -> Scores:
    """The question's scores from its answer (None: the ask failed), its checked citations (`check_citations`)
    and its retrieved passages (`retrieved`)."""
    refused = bool(answer and answer.refused)
    text = "" if answer is None or refused else strip_markers(answer.text)
    docs = [r["doc"] for r in ranked]
    passages = [p.text for p in answer.passages] if answer else []
    return Scores(
        answerable=q.answerable,
        refused=refused,
        failed=answer is None,
        em=metrics.exact_match(text, q.answers) if q.answers else 0.0,
        f1=metrics.f1(text, q.answers),
        contained=metrics.gold_contained(text, [c["quote"] for c in cites], q.answers),
        doc_recall=metrics.doc_recall(docs, q.doc_ids) if q.doc_ids else None,
        rr=metrics.reciprocal_rank(docs, q.doc_ids) if q.doc_ids else None,
        evidence_recall=float(metrics.evidence_retrieved(q.evidence, passages)) if q.evidence else None,
        citations=len(cites),
        valid_citations=sum(bool(c["valid"]) for c in cites),
        supporting_citations=sum(bool(c["supports"]) for c in cites),
        latency_ms=latency_ms,
        prompt_tokens=answer.prompt_tokens if answer else 0,
        completion_tokens=answer.completion_tokens if answer else 0,
        mid_sentence_citations=sum(c["ends_mid_sentence"] is True for c in cites),
        without_gold_refused=again.refused if again and not again.skipped else None,
    )
