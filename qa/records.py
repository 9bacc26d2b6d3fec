"""Typed records passed between modules. Third-party shapes never leave their adapters."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from qa.injection.detect import contains_instructions


@dataclass(frozen=True)
class Loaded:
    """A file's text as the loader read it.

    `page_starts` holds the character offset where each page begins (PDF only; page n
    starts at `page_starts[n - 1]`), empty for formats without pages.
    """

    path: str
    kind: str
    text: str
    page_starts: tuple[int, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A span `text == document.text[start:end]` of one document."""

    chunk_id: str
    doc_id: str
    source: str
    index: int
    start: int
    end: int
    text: str
    page: int | None = None  # the page the chunk starts on (documents with pages: PDF, slides, chapters)
    page_breaks: tuple[int, ...] = ()  # document offsets inside the chunk where a new page begins


_PAGE_WORDS = {".pptx": "slide", ".epub": "chapter"}


def page_name(source: str, page: int | None) -> str:
    """How a reader names the page of a document: "slide 3" in a deck, "chapter 2" in an e-book, "page 4" in a
    PDF; "" for documents without pages."""
    if page is None:
        return ""
    suffix = source[source.rfind(".") :].lower() if "." in source else ""
    return f"{_PAGE_WORDS.get(suffix, 'page')} {page}"


def page_within(page: int | None, page_breaks: tuple[int, ...], offset: int) -> int | None:
    """The page of document offset `offset` in a span that starts on `page` and crosses `page_breaks`."""
    return None if page is None else page + bisect.bisect_right(page_breaks, offset)


@dataclass(frozen=True)
class DocFilter:
    """Which documents a search may draw passages from: only those in `include` (when it is given), and never
    those in `exclude`. Ids are qa's document ids (`DocInfo.doc_id`)."""

    include: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    @classmethod
    def of(cls, docs: Iterable[str] | None = None, exclude_docs: Iterable[str] | None = None) -> DocFilter | None:
        """The filter for these choices; None when they leave every document in."""
        if docs is None and not exclude_docs:
            return None
        include = None if docs is None else frozenset([docs] if isinstance(docs, str) else docs)
        exclude = frozenset([exclude_docs] if isinstance(exclude_docs, str) else exclude_docs or ())
        return cls(include, exclude)

    def allows(self, doc_id: str) -> bool:
        return (self.include is None or doc_id in self.include) and doc_id not in self.exclude

    @property
    def admits_nothing(self) -> bool:
        """True when `include` names no document that `exclude` does not take out again."""
        return self.include is not None and not self.include - self.exclude


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and the rank each retriever gave it."""

    chunk_id: str
    doc_id: str
    source: str
    start: int
    end: int
    text: str
    score: float
    page: int | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    page_breaks: tuple[int, ...] = ()  # document offsets inside the passage where a new page begins

    @property
    def contains_instructions(self) -> bool:
        """Whether the passage holds text addressed to the answering model (qa/injection/detect.py): shown to the
        user, and nothing in that block of it is ever evidence."""
        return contains_instructions(self.text)

    def to_dict(self) -> dict[str, object]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "score": self.score,
            "dense_rank": self.dense_rank,
            "lexical_rank": self.lexical_rank,
            "contains_instructions": self.contains_instructions,
            "text": self.text,
        }


@dataclass(frozen=True)
class Passage:
    """A numbered passage shown to a backend: `text == document text[start:end]`."""

    n: int
    doc_id: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None  # the page the passage starts on
    page_breaks: tuple[int, ...] = ()  # document offsets inside it where a new page begins

    def page_at(self, offset: int) -> int | None:
        """The page of document offset `offset` (a quote's start), None for documents without pages."""
        return page_within(self.page, self.page_breaks, offset)


@dataclass(frozen=True)
class Document:
    """A whole document as stored: `text` is what every offset points into."""

    doc_id: str
    source: str
    text: str
    chunks: int
    page_starts: tuple[int, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character `offset`, or None for documents without pages."""
        if not self.page_starts:
            return None
        return max(1, bisect.bisect_right(self.page_starts, offset))


@dataclass(frozen=True)
class DocInfo:
    """One line of the document listing (no text)."""

    doc_id: str
    source: str
    path: str
    chunks: int
    chars: int

    def to_dict(self) -> dict[str, object]:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "path": self.path,
            "chunks": self.chunks,
            "chars": self.chars,
        }


@dataclass
class IngestReport:
    """What one ingest run did, per outcome, as sources."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_added: int = 0
    chunks_removed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.unchanged)} unchanged, {len(self.updated)} updated, "
            f"{len(self.removed)} removed, {len(self.failed)} failed, {len(self.skipped)} skipped; "
            f"{self.chunks_added} chunks added, {self.chunks_removed} chunks removed"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "updated": self.updated,
            "removed": self.removed,
            "failed": [{"source": s, "reason": r} for s, r in self.failed],
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "chunks_added": self.chunks_added,
            "chunks_removed": self.chunks_removed,
        }


@dataclass(frozen=True)
class Citation:
    """A quote that backs an answer: `quote == document(doc_id).text[start:end]`, always."""

    n: int
    doc_id: str
    source: str
    start: int
    end: int
    quote: str
    page: int | None = None
    contains_instructions: bool = False  # the passage quoted from holds text addressed to the answering model

    def to_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "source": self.source,
            "start": self.start,
            "end": self.end,
            "page": self.page,
            "quote": self.quote,
            "contains_instructions": self.contains_instructions,
        }


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

    def to_dict(self) -> dict[str, object]:
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
        }


Event = str | Answer  # what an answer stream yields: text deltas as they come, then the whole Answer
Progress = Callable[[int, int], None]  # (units done, units in all): chunks embedded, questions asked
