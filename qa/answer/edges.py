"""A quote cut by its passage's edge, made whole from the document.

A chunk ends at a sentence boundary unless a sentence is longer than a whole chunk (a list of names run into one
sentence); the chunker then cuts it between words, and a sentence read from that passage stops mid-sentence
("... Canadian political leader Michael"). Such a quote is extended, in the document, to the whole sentence:
still the document's own words at its own offsets. A passage that ends without closing punctuation is such a
cut for sure; one that starts mid-sentence is only recognised when it starts with a small letter or a digit (a
piece starting with a name reads like a sentence), unless its end is cut too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from qa.answer.extractive import Candidate
from qa.errors import NotFoundError, QAError
from qa.records import Citation, Document, Passage, Span
from qa.text.sentences import units

_ENDS = ".!?…:;\"'”’)]»"
_REACH = 4000  # characters read beyond the passage for the rest of the sentence
_PARAGRAPH = "\n\n"


def cut_at(passage: Passage, start: int, end: int) -> bool:
    """Whether the document span `start:end` of the passage runs into an edge of the passage that may cut a
    sentence: it reaches the passage's end and the passage stops without closing punctuation, or it starts at the
    passage's start and that start reads like the middle of a sentence (a small letter, a digit)."""
    text, at = passage.text, passage.start
    if end >= at + len(text.rstrip()) and text.rstrip()[-1:] not in _ENDS:
        return True
    head = text.lstrip()[:1]
    return start <= at + len(text) - len(text.lstrip()) and at > 0 and (head.islower() or head.isdigit())


def whole(document: Document, start: int, end: int, quote: str) -> Span:
    """The span `start:end` of `document`, which reads `quote`, widened to the sentences it stands in (at most
    `_REACH` characters each way); raises NotFoundError when the document no longer reads `quote` there (it was
    changed since the search)."""
    text = document.text
    if text[start:end] != quote:
        raise NotFoundError(f"document {document.doc_id} changed since it was searched")
    before = [u for u in units(text, max(0, start - _REACH), end) if u.start <= start < u.end]
    after = [u for u in units(text, start, min(len(text), end + _REACH)) if u.start < end <= u.end]
    first = before[-1].start if before else start
    last = after[0].end if after else end
    breaks = tuple(b for b in document.page_starts if first < b < last)
    return Span(document.doc_id, document.source, first, last, text[first:last], document.page_at(first), breaks)


def quoted(c: Candidate, document: Callable[[str], Document]) -> Span:
    """The candidate as a span of its document; widened to whole sentences, read from `document(doc_id)`, where its
    passage's edge cuts one."""
    span = c.passage.span.within(c.start - c.passage.start, c.end - c.passage.start)
    assert span.text == c.text
    if not cut_at(c.passage, c.start, c.end):
        return span
    try:
        return whole(document(c.passage.doc_id), c.start, c.end, c.text)
    except QAError:  # the document changed or went since the search: quote what the passage holds
        return span


def widened(
    citations: Sequence[Citation], passages: Sequence[Passage], document: Callable[[str], Document]
) -> tuple[Citation, ...]:
    """An LLM answer's citations, each whose quote runs into a cutting edge of the passage it was read from widened
    to whole sentences, as `quoted` does for the extractive backend."""
    out = []
    for c in citations:
        p = next((p for p in passages if p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end), None)
        if p is None or not cut_at(p, c.start, c.end):
            out.append(c)
            continue
        try:
            out.append(replace(c, span=whole(document(c.doc_id), c.start, c.end, c.quote)))
        except QAError:
            out.append(c)
    return tuple(out)


def around(passage: Passage, window: Callable[[str, int], Span | None], reach: int) -> Passage:
    """The passage with the whole paragraphs next to it that lie within `reach` characters of it each way, read
    from `window(chunk_id, reach)` (its chunk and the chunks beside it): a chunk edge may part a function's description
    from the argument asked about ("Optional argument n (default 3) ..." | "Optional argument cutoff (default 0.6)
    ..."). Still the document's own text at its own offsets; the passage as it is when its document no longer
    reads it there."""
    try:
        wide = window(passage.hit.chunk_id, reach)
    except QAError:  # the store could not be read: answer from the passage as found
        return passage
    start, end = passage.start, passage.end
    if (
        wide is None
        or not wide.start <= start <= end <= wide.end
        or wide.text[start - wide.start : end - wide.start] != passage.text
    ):
        return passage
    text, at = wide.text, wide.start
    before = text.find(_PARAGRAPH, max(0, start - reach - at), start - at)
    first = 0 if at == 0 and start <= reach else before + len(_PARAGRAPH) if before >= 0 else start - at
    after = text.rfind(_PARAGRAPH, end - at, end + reach - at)
    last = after if after >= 0 else end - at
    if (at + first, at + last) == (start, end):
        return passage
    return replace(passage, hit=replace(passage.hit, span=wide.within(first, last)))
