"""Records for tests that build passages and citations by hand, without a search."""

from __future__ import annotations

from qa.records import Citation, Hit, Passage, Span


def make_passage(
    n: int, doc_id: str, source: str, start: int, end: int, text: str, page: int | None = None,
    page_breaks: tuple[int, ...] = (),
) -> Passage:  # fmt: skip
    """Passage `n`: `text` at `start:end` of document `doc_id`, as if a search had found it."""
    return Passage(n, Hit(f"{doc_id}:{start}", Span(doc_id, source, start, end, text, page, page_breaks), 0.0))


def make_citation(
    n: int, doc_id: str, source: str, start: int, end: int, quote: str, page: int | None = None
) -> Citation:
    """Citation `n`: `quote` at `start:end` of document `doc_id`."""
    return Citation(n, Span(doc_id, source, start, end, quote, page))
