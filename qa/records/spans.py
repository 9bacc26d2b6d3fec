"""Spans and the records that carry one: where words stand in a document (`Span`), a stored chunk, a retrieval
hit, a numbered passage and a citation; how a page is named; each record's wire shape."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Annotated, TypedDict

from qa.injection.detect import contains_instructions

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
class Span:
    """Words of one document as they stand in it: `text == document(doc_id).text[start:end]`, always.

    The one record of "where": a stored chunk, a retrieval hit, a numbered passage and a citation each carry one.
    """

    doc_id: str
    source: str
    start: int
    end: int
    text: str
    page: int | None = None  # the page the span starts on (documents with pages: PDF, slides, chapters)
    page_breaks: tuple[int, ...] = ()  # document offsets inside the span where a new page begins

    def page_at(self, offset: int) -> int | None:
        """The page of document offset `offset` (inside the span), None for documents without pages."""
        return page_within(self.page, self.page_breaks, offset)

    def within(self, start: int, end: int) -> Span:
        """The part `text[start:end]` of this span (offsets relative to it) as a span of its own."""
        doc_start, doc_end = self.start + start, self.start + end
        breaks = tuple(b for b in self.page_breaks if doc_start < b < doc_end)
        return Span(self.doc_id, self.source, doc_start, doc_end, self.text[start:end], self.page_at(doc_start), breaks)

    @property
    def contains_instructions(self) -> bool:
        """Whether the span holds text addressed to the answering model (qa/injection/detect.py): shown to the
        user, and nothing in that block of it is ever evidence."""
        return contains_instructions(self.text)

    def where(self, source: bool = True) -> str:
        """Where the span stands, as a reader names it: "report.pdf, page 2, chars 699-863" (the page only for
        documents with pages; `source=False` leaves the document's name out). Every front end cites with this."""
        parts = [self.source] if source else []
        if self.page:
            parts.append(page_name(self.source, self.page))
        return ", ".join([*parts, f"chars {self.start}-{self.end}"])


class _OnSpan:
    """Reads a record that carries a `span` as the span itself: `hit.source`, `passage.text`, `citation.start`."""

    span: Span

    @property
    def doc_id(self) -> str:
        return self.span.doc_id

    @property
    def source(self) -> str:
        return self.span.source

    @property
    def start(self) -> int:
        return self.span.start

    @property
    def end(self) -> int:
        return self.span.end

    @property
    def text(self) -> str:
        return self.span.text

    @property
    def page(self) -> int | None:
        return self.span.page

    @property
    def page_breaks(self) -> tuple[int, ...]:
        return self.span.page_breaks

    def page_at(self, offset: int) -> int | None:
        return self.span.page_at(offset)

    def where(self, source: bool = True) -> str:
        return self.span.where(source)


@dataclass(frozen=True)
class Chunk(_OnSpan):
    """A stored chunk: the `index`-th span its document was cut into."""

    chunk_id: str
    index: int
    span: Span


class HitJSON(TypedDict):
    """A hit on the wire (`qa search --json`, `POST /v1/search`)."""

    chunk_id: str
    doc_id: str
    source: str
    start: Annotated[int, "where the passage starts in the document's text"]
    end: int
    page: Annotated[int | None, "the page the passage starts on (PDF page, slide, chapter), else null"]
    score: Annotated[float, "the fused score: higher is better"]
    dense_rank: Annotated[int | None, "the rank dense search gave it, null when it did not find it"]
    lexical_rank: Annotated[int | None, "the rank BM25 gave it, null when it did not find it"]
    contains_instructions: Annotated[bool, "the passage holds text addressed to the answering model; never evidence"]
    text: Annotated[str, "the document's text[start:end]"]


@dataclass(frozen=True)
class Hit(_OnSpan):
    """A retrieved chunk with its fused score and the rank each retriever gave it."""

    chunk_id: str
    span: Span
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None

    @property
    def contains_instructions(self) -> bool:
        return self.span.contains_instructions

    def to_dict(self) -> HitJSON:
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
class Passage(_OnSpan):
    """A retrieval hit numbered `n` as a backend is shown it (`[n]` in the prompt and in the answer)."""

    n: int
    hit: Hit

    @property
    def span(self) -> Span:  # type: ignore[override]
        return self.hit.span


class CitationJSON(TypedDict):
    """A citation on the wire: in `qa ask --json`, `POST /v1/ask`, the answer log and eval results."""

    n: Annotated[int, "the marker [n] in the answer"]
    doc_id: str
    source: Annotated[str, "the document's path as ingested"]
    start: Annotated[int, "where the quote starts in the document's text"]
    end: int
    page: Annotated[int | None, "the page the quote stands on (PDF page, slide, chapter), else null"]
    quote: Annotated[str, "the document's text[start:end], verbatim"]
    contains_instructions: Annotated[bool, "the passage quoted from holds text addressed to the answering model"]


@dataclass(frozen=True)
class Citation(_OnSpan):
    """A quote that backs an answer: `quote == document(doc_id).text[start:end]`, always."""

    n: int
    span: Span
    contains_instructions: bool = False  # the passage quoted from holds text addressed to the answering model

    @property
    def quote(self) -> str:
        return self.span.text

    def line(self) -> str:
        """The citation as a reader sees it in plain text: `[1] report.pdf, page 2, chars 10-52: "the quote"`."""
        return f'[{self.n}] {self.where()}: "{" ".join(self.quote.split())}"'

    def to_dict(self) -> CitationJSON:
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
