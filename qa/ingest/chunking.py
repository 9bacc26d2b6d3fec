"""Token-bounded chunks that end at sentence or paragraph boundaries, with overlap.

Every chunk is a span `text[start:end]` of its document. Counting uses tiktoken; a sentence longer than
the limit is split between words, and a word longer than the limit (a URL, base64 data, text written
without spaces) between characters.

Time is linear in the text's length: every count is of a span at most about twice as long as the piece it
decides, found by galloping from a guess (the previous piece's size) and then bisecting, so a run without
spaces is never counted again and again from its start.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from qa.text.sentences import paragraph_starts, sentence_spans

Counter = Callable[[str], int]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    tokens: int


def longest_fit(fits: Callable[[int], bool], size: int, guess: int) -> int:
    """The largest index `i < size` with `fits(i)`, assuming `fits` holds up to some index and fails after
    it; -1 when `fits(0)` fails. Probes gallop from `guess` and then bisect, so the cost follows the distance
    between the guess and the answer, never `size`."""
    if size < 1:
        return -1
    low, high = -1, size  # fits(low) held (or low is -1); fits(high) failed (or high is size)
    probe, step = min(max(guess, 0), size - 1), 1
    if fits(probe):
        low = probe
        while low + step < high and fits(low + step):
            low, step = low + step, step * 2
        high = min(high, low + step)
    else:
        high = probe
        while high - step > low and not fits(high - step):
            high, step = high - step, step * 2
        low = max(low, high - step)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _cut_word(text: str, start: int, end: int, limit: int, count: Counter) -> list[Span]:
    """Cut one over-long "word" (a URL, base64 data, text without spaces) into character runs of at most
    `limit` tokens each (at least one character)."""
    pieces: list[Span] = []
    size = limit  # the first guess: a character a token; then the previous piece's length
    while start < end:
        size = _fit_chars(text, start, end, limit, count, size)
        pieces.append(Span(start, start + size, count(text[start : start + size])))
        start += size
    return pieces


def _fit_chars(text: str, start: int, end: int, limit: int, count: Counter, guess: int) -> int:
    """The length of the longest run `text[start:start + n]` (n <= end - start) of at most `limit` tokens;
    at least 1."""

    def fits(index: int) -> bool:
        return count(text[start : start + 1 + index]) <= limit

    return max(1, longest_fit(fits, end - start, guess - 1) + 1)


def _fit_words(text: str, words: list[tuple[int, int]], first: int, limit: int, count: Counter, guess: int) -> int:
    """The index of the last word such that `words[first]` through it are at most `limit` tokens; `first - 1`
    when the first word alone is over."""
    begin = words[first][0]

    def fits(index: int) -> bool:
        return count(text[begin : words[first + index][1]]) <= limit

    return first + longest_fit(fits, len(words) - first, guess)


def _split_long(text: str, span: tuple[int, int], limit: int, count: Counter) -> list[Span]:
    """Cut one over-long sentence into pieces of at most `limit` tokens, between words where possible."""
    words = [(span[0] + m.start(), span[0] + m.end()) for m in re.finditer(r"\S+", text[span[0] : span[1]])]
    pieces: list[Span] = []
    first, guess = 0, 0
    while first < len(words):
        last = _fit_words(text, words, first, limit, count, guess)
        if last < first:  # the word alone is over the limit: cut it between characters
            pieces.extend(_cut_word(text, *words[first], limit, count))
        else:
            pieces.append(Span(words[first][0], words[last][1], count(text[words[first][0] : words[last][1]])))
            guess = last - first
        first = max(last, first) + 1
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
        self.guess = 0  # how many units the previous chunk took beyond its first two: where the search starts

    def size(self, first: int, stop: int) -> int:
        """Tokens of the text from unit `first` through unit `stop - 1`."""
        return self.count(self.text[self.parts[first].start : self.parts[stop - 1].end])

    def end(self, first: int, floor: int) -> int:
        """One past the last unit of the chunk starting at `first`; more than `floor`. Prefers to stop
        where a paragraph ends if that keeps the chunk 60% full."""

        def fits(index: int) -> bool:  # units first .. first + 1 + index fit together
            return self.size(first, first + 2 + index) <= self.limit

        more = longest_fit(fits, len(self.parts) - first - 1, self.guess)
        self.guess = max(more, 0)
        last = first + 2 + more
        if last < len(self.parts):
            for cut in range(last - 1, max(first, floor), -1):
                if self.parts[cut].start in self.paragraphs:
                    return cut if self.size(first, cut) >= 0.6 * self.limit else last
        return last

    def next_start(self, first: int, end: int) -> int:
        """Where the following chunk starts: whole units before `end` worth at most `overlap` tokens, and
        only if the unit at `end` still fits after them."""

        def fits(index: int) -> bool:  # the overlap may reach back to unit end - 1 - index
            start = end - 1 - index
            return self.size(start, end) <= self.overlap and self.size(start, end + 1) <= self.limit

        return end - 1 - longest_fit(fits, end - first - 1, 0)


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


def doc_of(chunk_id: str) -> str:
    """The document id a chunk id (`chunk_id`) begins with."""
    return chunk_id.rpartition("-")[0]
