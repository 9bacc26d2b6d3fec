"""Sentences of a text as a reader sees them, as (start, end) character offsets. Pure functions, no I/O.

A text is read line by line. Lines of one paragraph that were wrapped by hand (Markdown and text sources,
PDF lines) are joined: a span then holds a line break, but is still exactly `text[start:end]`. Headings,
list items, table cells and code lines are units of their own and are never joined to prose. Within
prose, a sentence ends at . ! ? or … (with any closing quotes or brackets) before a likely sentence opener,
except after an abbreviation or an initial, inside a list marker, or inside a quotation that closes soon
after (a quotation of two sentences is one unit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.text.lines import ITEM, Line, classify, groups, is_abbreviation

_END = re.compile(r"""[.!?…]["'”’»)\]*_]*(?=\s+(?:`|["'“‘«(\[*_]*[A-Z0-9À-Ý]))""")
_QUOTE_CLOSERS = {"“": "”", "«": "»", '"': '"'}
_QUOTE_OPENERS = re.compile("|".join(map(re.escape, _QUOTE_CLOSERS)))
_QUOTE_CAP = 500  # a quotation longer than this is split into its sentences


@dataclass(frozen=True)
class Unit:
    """A sentence, list item, heading, table cell or code line: `text[start:end]`, trimmed.

    `kind` is "prose", "item" (a list item's first sentence), "heading", "cell", "code" or "mark" (a code
    fence, a rule, a link definition, a line of nothing but HTML tags); `group` numbers the run of lines a unit
    was read from, `para` its paragraph."""

    start: int
    end: int
    kind: str
    group: int
    para: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]`, each a trimmed (start, end) span into `text`."""
    return [(u.start, u.end) for u in units(text, start, end)]


def units(text: str, start: int = 0, end: int | None = None) -> list[Unit]:
    """The units of `text[start:end]` in order, each with its kind, line group and paragraph."""
    end = len(text) if end is None else end
    out: list[Unit] = []
    for number, group in enumerate(groups(classify(text, start, end), text)):
        first, last = group[0], group[-1]
        if first.kind in ("prose", "item"):
            out.extend(Unit(s, e, k, number, first.para) for s, e, k in _sentences(text, first, last.end))
        elif first.kind == "table":
            out.extend(Unit(s, e, "cell", number, first.para) for s, e in _cells(text, first.start, first.end))
        else:
            out.append(Unit(first.start, first.end, first.kind, number, first.para))
    return out


def _quotations(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """(opening, closing) positions of the quotations in `text[start:end]` that close within the cap."""
    found: list[tuple[int, int]] = []
    at = start
    while at < end:
        opening = _QUOTE_OPENERS.search(text, at, end)
        if opening is None:
            break
        at = opening.start()
        mark = text[at]
        opens = mark != '"' or at == start or text[at - 1].isspace() or text[at - 1] in "([{—–-"
        close = text.find(_QUOTE_CLOSERS[mark], at + 1, min(end, at + _QUOTE_CAP))
        if opens and close > at + 1:
            found.append((at, close))
            at = close
        at += 1
    return found


def _sentences(text: str, first: Line, end: int) -> list[tuple[int, int, str]]:
    """The sentences of one run of prose lines (a list item when `first` is one), as (start, end, kind)."""
    marker = ITEM.match(text, first.start, end) if first.kind == "item" else None
    quotes = _quotations(text, first.start, end)
    cuts = [first.start]
    for match in _END.finditer(text, marker.end() if marker else first.start, end):
        at, stop = match.start(), match.end()
        if not is_abbreviation(text, at) and not any(a < at and stop <= b for a, b in quotes):
            cuts.append(stop)
    spans = [_trim(text, a, b) for a, b in zip(cuts, [*cuts[1:], end], strict=True)]
    return [(s, e, first.kind if n == 0 else "prose") for n, (s, e) in enumerate(spans) if e > s]


def _cells(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The cells of one table row: separated by tabs (HTML tables) or by | (Markdown tables)."""
    separator = re.compile(r"[^\t]+" if "\t" in text[start:end] else r"[^|]+")
    cells = [_trim(text, m.start(), m.end()) for m in separator.finditer(text, start, end)]
    return [(s, e) for s, e in cells if e > s] or [(start, end)]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def paragraph_starts(text: str) -> frozenset[int]:
    """Offsets of the first character of every paragraph (text after a blank line, or the first)."""
    starts = {m.end() for m in re.finditer(r"\n[ \t]*\n\s*", text)}
    stripped = len(text) - len(text.lstrip())
    if text.strip():
        starts.add(stripped)
    return frozenset(starts)
