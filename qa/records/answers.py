"""Answers: the turns of a conversation, the grounded `Answer` with its wire shape, and what a stream yields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

from qa.records.spans import Citation, CitationJSON, Passage


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation: a question the user asked, or the answer it got."""

    role: Literal["user", "assistant"]
    content: str


class AnswerJSON(TypedDict):
    """An answer on the wire: exactly what `qa ask --json` prints and `POST /v1/ask` returns."""

    question: str
    answer: Annotated[str, "the answer with [n] citation markers, or the refusal"]
    refused: Annotated[bool, "true when the documents don't hold the answer"]
    backend: Annotated[str, "who wrote the answer: extractive, openai or llama"]
    model: str | None
    citations: list[CitationJSON]
    unsupported: Annotated[list[str], "sentences of the answer that no passage supports"]
    dropped_citations: Annotated[int, "citation markers that pointed at no passage"]
    recited_citations: Annotated[int, "sentences cited to the wrong passage, credited to one that states them"]
    passages_left_out: Annotated[int, "retrieved passages that did not fit the model's context"]
    standalone_question: Annotated[str | None, "a follow-up question rewritten to stand alone, as it was searched"]
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    refusal_odds: Annotated[float | None, "the LLM's probability of replying with the refusal, when it reports one"]
    answer_odds: Annotated[
        float | None,
        "the extractive backend's odds that its best sentence answers (it answers at QA_MIN_ODDS or more; 0.3 when "
        "strict); none when no sentence met its rules, or for an LLM",
    ]


@dataclass(frozen=True)
class Answer:
    """An answer with its citations, or a refusal (`refused`) saying the documents don't hold it."""

    question: str
    text: str
    refused: bool
    backend: str
    model: str | None
    citations: tuple[Citation, ...] = ()
    unsupported: tuple[str, ...] = ()
    dropped_citations: int = 0
    recited_citations: int = 0  # sentences cited to the wrong passage whose citation moved to one that states them
    passages_left_out: int = 0
    standalone_question: str | None = None
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    refusal_odds: float | None = None  # the LLM's probability of replying with the refusal, when it reports one
    answer_odds: float | None = None  # the extractive backend's odds that its best sentence answers
    passages: tuple[Passage, ...] = ()  # what the backend was shown, in rank order (not part of the wire shape)

    def to_dict(self) -> AnswerJSON:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "backend": self.backend,
            "model": self.model,
            "citations": [c.to_dict() for c in self.citations],
            "unsupported": list(self.unsupported),
            "dropped_citations": self.dropped_citations,
            "recited_citations": self.recited_citations,
            "passages_left_out": self.passages_left_out,
            "standalone_question": self.standalone_question,
            "latency_ms": round(self.latency_ms, 1),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "refusal_odds": None if self.refusal_odds is None else round(self.refusal_odds, 4),
            "answer_odds": None if self.answer_odds is None else round(self.answer_odds, 4),
        }


Event = str | Answer  # what an answer stream yields: text deltas as they come, then the whole Answer
Progress = Callable[[int, int], None]  # (units done, units in all): chunks embedded, questions asked
