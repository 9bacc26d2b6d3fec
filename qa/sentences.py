"""Sentence spans of a text, as (start, end) character offsets. Pure functions, no I/O."""

from __future__ import annotations

import re

# A sentence ends at . ! ? or … (plus closing quotes/brackets) followed by whitespace and a likely
# sentence opener; a line break always ends one.
_END = re.compile(r"""[.!?…]["'”’»)\]]*(?=\s+["'“‘«(\[]?[A-Z0-9À-Ý])""")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "st",
        "jr",
        "sr",
        "gen",
        "col",
        "lt",
        "sgt",
        "capt",
        "gov",
        "sen",
        "rep",
        "rev",
        "inc",
        "ltd",
        "co",
        "corp",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "no",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.k",
        "u.n",
        "approx",
        "dept",
        "est",
    ]
)


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an abbreviation or an initial rather than a sentence."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘":
        start -= 1
    word = text[start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]`, each a trimmed (start, end) span into `text`."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    line_start = start
    while line_start < end:
        line_end = text.find("\n", line_start, end)
        line_end = end if line_end == -1 else line_end
        cursor = line_start
        for match in _END.finditer(text, line_start, line_end):
            if _is_abbreviation(text, match.start()):
                continue
            span = _trimmed(text, cursor, match.end())
            if span:
                spans.append(span)
            cursor = match.end()
        span = _trimmed(text, cursor, line_end)
        if span:
            spans.append(span)
        line_start = line_end + 1
    return spans


def paragraph_starts(text: str) -> frozenset[int]:
    """Offsets of the first character of every paragraph (text after a blank line, or the first)."""
    starts = {m.end() for m in re.finditer(r"\n[ \t]*\n\s*", text)}
    first = _trimmed(text, 0, len(text))
    if first:
        starts.add(first[0])
    return frozenset(starts)
