"""Token-bounded chunks that end at sentence or paragraph boundaries, with overlap.

Every chunk is a span `text[start:end]` of its document. Counting uses tiktoken; a sentence longer than
the limit is split between words.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.sentences import paragraph_starts, sentence_spans

Counter = Callable[[str], int]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    tokens: int


def _cut_word(text: str, start: int, end: int, limit: int, count: Counter) -> list[Span]:
    """Cut one over-long "word" (a URL, base64 data) into character runs of at most `limit` tokens."""
    pieces: list[Span] = []
    while start < end:
        low, high = start + 1, end  # the longest prefix that fits, by bisection
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if count(text[start:middle]) <= limit else (low, middle - 1)
        pieces.append(Span(start, low, count(text[start:low])))
        start = low
    return pieces


def _split_long(text: str, span: tuple[int, int], limit: int, count: Counter) -> list[Span]:
    """Cut one over-long sentence into pieces of at most `limit` tokens, between words where possible."""
    pieces: list[Span] = []
    piece_start = piece_end = -1
    for word in re.finditer(r"\S+", text[span[0] : span[1]]):
        w_start, w_end = span[0] + word.start(), span[0] + word.end()
        if piece_start >= 0 and count(text[piece_start:w_end]) <= limit:
            piece_end = w_end
            continue
        if piece_start >= 0:
            pieces.append(Span(piece_start, piece_end, count(text[piece_start:piece_end])))
        if count(text[w_start:w_end]) > limit:
            pieces.extend(_cut_word(text, w_start, w_end, limit, count))
            piece_start = -1
        else:
            piece_start, piece_end = w_start, w_end
    if piece_start >= 0:
        pieces.append(Span(piece_start, piece_end, count(text[piece_start:piece_end])))
    return pieces


def units(text: str, limit: int, count: Counter) -> list[Span]:
    """The sentences of `text` with their token counts, over-long ones split."""
    out: list[Span] = []
    for start, end in sentence_spans(text):
        tokens = count(text[start:end])
        out.extend(_split_long(text, (start, end), limit, count) if tokens > limit else [Span(start, end, tokens)])
    return out


class _Packer:
    """Greedy packing of units into chunks; sizes are always counted on the real text between units."""

    def __init__(self, text: str, parts: list[Span], limit: int, overlap: int, count: Counter) -> None:
        self.text, self.parts, self.limit, self.overlap, self.count = text, parts, limit, overlap, count
        self.paragraphs = paragraph_starts(text)

    def size(self, first: int, stop: int) -> int:
        """Tokens of the text from unit `first` through unit `stop - 1`."""
        return self.count(self.text[self.parts[first].start : self.parts[stop - 1].end])

    def end(self, first: int, floor: int) -> int:
        """One past the last unit of the chunk starting at `first`; more than `floor`. Prefers to stop
        where a paragraph ends if that keeps the chunk 60% full."""
        last = first + 1
        while last < len(self.parts) and self.size(first, last + 1) <= self.limit:
            last += 1
        if last < len(self.parts):
            for cut in range(last - 1, max(first, floor), -1):
                if self.parts[cut].start in self.paragraphs:
                    return cut if self.size(first, cut) >= 0.6 * self.limit else last
        return last

    def next_start(self, first: int, end: int) -> int:
        """Where the following chunk starts: whole units before `end` worth at most `overlap` tokens, and
        only if the unit at `end` still fits after them."""
        start = end
        while (
            start - 1 > first
            and self.size(start - 1, end) <= self.overlap
            and self.size(start - 1, end + 1) <= self.limit
        ):
            start -= 1
        return start


def chunk_spans(text: str, max_tokens: int, overlap: int, count: Counter) -> list[tuple[int, int]]:
    """(start, end) spans of the chunks of `text`, in order; empty for blank text."""
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap < max_tokens")
    parts = units(text, max_tokens, count)
    packer = _Packer(text, parts, max_tokens, overlap, count)
    spans: list[tuple[int, int]] = []
    first, end = 0, 0
    while first < len(parts):
        end = packer.end(first, floor=end)
        spans.append((parts[first].start, parts[end - 1].end))
        first = end if end >= len(parts) else packer.next_start(first, end)
    return spans


def chunk_id(doc_id: str, version: str, start: int, end: int, text: str) -> str:
    """A chunk's id, derived from its document, the document's version, its position and its content:
    the same file chunked the same way always gives the same ids."""
    digest = hashlib.sha256(f"{doc_id}\0{version}\0{start}\0{end}\0{text}".encode()).hexdigest()
    return f"{doc_id}-{digest[:16]}"
