"""The records of a run: what became of one question (`QuestionResult`, and `WithoutGold` when it was asked
again without its gold documents) and the finished run (`RunSummary`); each question's `to_dict()` is one line
of results.jsonl."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.evaluation.questions import Question
from qa.evaluation.scores import Scores, Value
from qa.evaluation.tables import format_table

__all__ = ["QuestionResult", "RunSummary", "WithoutGold"]


@dataclass(frozen=True)
class WithoutGold:
    """An answerable question asked again with its gold documents left out of the search (`skipped` says why
    it could not be, when none of them is in the index)."""

    left_out: tuple[str, ...]  # the gold documents, as the question set names them
    answer: str = ""
    refused: bool = False
    citations: tuple[dict[str, Any], ...] = ()
    retrieved: tuple[dict[str, Any], ...] = ()
    latency_ms: float = 0.0
    error: str | None = None
    leaked: bool = False  # a passage or citation came from a left-out document: a bug in the filter
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        if self.skipped:
            return {"left_out": list(self.left_out), "skipped": self.skipped}
        row = asdict(self) | {"left_out": list(self.left_out), "latency_ms": round(self.latency_ms, 1)}
        return {name: value for name, value in row.items() if name != "skipped"}


@dataclass(frozen=True)
class QuestionResult:
    """What happened to one question: the answer, its checked citations, the retrieved passages, scores."""

    q: Question
    answer: str
    backend: str | None
    model: str | None
    citations: tuple[dict[str, Any], ...]
    retrieved: tuple[dict[str, Any], ...]
    error: str | None
    scores: Scores
    unsupported: tuple[str, ...] = ()  # the backend's sentences no passage backs (why an LLM answer was refused)
    dropped_citations: int = 0
    without_gold: WithoutGold | None = None

    @property
    def refused(self) -> bool:
        return self.scores.refused

    def to_dict(self) -> dict[str, Any]:
        """One line of results.jsonl: the question's fields, then what came back."""
        s = self.scores
        return asdict(self.q) | {
            "answer": self.answer,
            "refused": s.refused,
            "backend": self.backend,
            "model": self.model,
            "citations": list(self.citations),
            "unsupported": list(self.unsupported),
            "dropped_citations": self.dropped_citations,
            "retrieved": list(self.retrieved),
            "latency_ms": round(s.latency_ms, 1),
            "prompt_tokens": s.prompt_tokens,
            "completion_tokens": s.completion_tokens,
            "error": self.error,
            "without_gold": self.without_gold.to_dict() if self.without_gold else None,
            "scores": asdict(s) | {"correct": s.correct},
        }


@dataclass(frozen=True)
class RunSummary:
    """A finished run: its configuration, every metric, and the per-question results."""

    config: dict[str, Any]
    metrics: dict[str, Value]
    counts: dict[str, int]
    ingest: dict[str, Any]
    results: tuple[QuestionResult, ...] = field(repr=False)
    out: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config, "counts": self.counts, "metrics": self.metrics, "ingest": self.ingest}

    def table(self) -> str:
        return format_table(self.metrics)
