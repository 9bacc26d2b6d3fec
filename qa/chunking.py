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


def _split_long(text: str, span: tuple[int, int], limit: int, count: Counter) -> list[Span]:
    """Cut one over-long sentence into pieces of at most `limit` tokens, between words."""
    pieces: list[Span] = []
    piece_start, piece_end, used = span[0], span[0], 0
    for word in re.finditer(r"\S+", text[span[0] : span[1]]):
        w_start, w_end = span[0] + word.start(), span[0] + word.end()
        cost = count(text[w_start:w_end]) + (1 if used else 0)
        if used and used + cost > limit:
            pieces.append(Span(piece_start, piece_end, used))
            piece_start, used, cost = w_start, 0, cost - 1
        piece_end, used = w_end, used + cost
    pieces.append(Span(piece_start, piece_end, used))
    return pieces


def units(text: str, limit: int, count: Counter) -> list[Span]:
    """The sentences of `text` with their token counts, over-long ones split."""
    out: list[Span] = []
    for start, end in sentence_spans(text):
        tokens = count(text[start:end])
        out.extend(
            _split_long(text, (start, end), limit, count) if tokens > limit else [Span(start, end, tokens)]
        )
    return out


def _pack_end(parts: list[Span], first: int, limit: int, paragraphs: frozenset[int], floor: int) -> int:
    """Index one past the last unit of the chunk that starts at `first`; at least `floor + 1`."""
    total, last = parts[first].tokens, first + 1
    while last < len(parts) and total + parts[last].tokens + 1 <= limit:
        total += parts[last].tokens + 1
        last += 1
    if last < len(parts):  # prefer to end where a paragraph ends, if that keeps the chunk 60% full
        for cut in range(last - 1, max(first, floor), -1):
            if parts[cut].start in paragraphs:
                if sum(p.tokens for p in parts[first:cut]) >= 0.6 * limit:
                    return cut
                break
    return last


def _next_start(parts: list[Span], first: int, end: int, overlap: int, limit: int) -> int:
    """Where the following chunk starts: back up whole units worth at most `overlap` tokens, leaving
    room for at least one new unit."""
    start, used = end, 0
    room = limit - parts[end].tokens - 1
    while start - 1 > first and used + parts[start - 1].tokens <= min(overlap, room):
        start -= 1
        used += parts[start].tokens
    return start


def chunk_spans(text: str, max_tokens: int, overlap: int, count: Counter) -> list[tuple[int, int]]:
    """(start, end) spans of the chunks of `text`, in order; empty for blank text."""
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise ValueError("need max_tokens >= 1 and 0 <= overlap < max_tokens")
    parts = units(text, max_tokens, count)
    paragraphs = paragraph_starts(text)
    spans: list[tuple[int, int]] = []
    first, end = 0, 0
    while first < len(parts):
        end = _pack_end(parts, first, max_tokens, paragraphs, floor=end)
        spans.append((parts[first].start, parts[end - 1].end))
        first = end if end >= len(parts) else _next_start(parts, first, end, overlap, max_tokens)
    return spans


def chunk_id(doc_id: str, version: str, start: int, end: int, text: str) -> str:
    """A chunk's id, derived from its document, the document's version, its position and its content:
    the same file chunked the same way always gives the same ids."""
    digest = hashlib.sha256(f"{doc_id}\0{version}\0{start}\0{end}\0{text}".encode()).hexdigest()
    return f"{doc_id}-{digest[:16]}"
