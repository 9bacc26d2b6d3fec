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

_END = re.compile(r"""[.!?…]["'”’»)\]*_]*(?=\s+(?:`|["'“‘«(\[*_]*[A-Z0-9À-Ý]))""")
_TERMINAL = re.compile(r"""[.!?…]["'”’»)\]*_`]*$""")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev inc ltd co corp vs etc e.g i.e no fig jan "
    "feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n approx dept est".split()
)
_CONNECTORS = frozenset("a an the of to and or in on for with by from that as at is are be".split())
_QUOTE_CLOSERS = {"“": "”", "«": "»", '"': '"'}
_QUOTE_OPENERS = re.compile("|".join(map(re.escape, _QUOTE_CLOSERS)))
_QUOTE_CAP = 500  # a quotation longer than this is split into its sentences

_FENCE = re.compile(r"[ \t>]*(```|~~~)\s*(\S*)")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"[ \t]*(?:[-*_=+|:][ \t]*){3,}$")
_SETEXT = re.compile(r"[ ]{0,3}(?:=+|-+)[ \t]*$")  # the underline of a heading: "=====" or "-----"
# a Markdown link reference definition: "[name]: https://example.org/page "Title"" (where links point, not text)
_LINK_DEFINITION = re.compile(r"""[ ]{0,3}\[[^\]\n]+\]:[ \t]*<?[^\s>]+>?(?:[ \t]+["'(].*)?$""")
_ITEM = re.compile(r"[ \t>]*(?:[-*+•◦▪‣–]|(?:\d{1,3}[.)])+|[a-z][.)])[ \t]+(?=\S)")
_QUOTE_MARK = re.compile(r"^[ \t]*(?:>[ \t]*)+")  # Markdown block quote marks
_FORMULA_END = re.compile(r"(?:^|[\s(\[]|\n\d{1,2})(?:[A-Z][a-z]?\d*)+$")  # "O", "(SiO", "CO", "2O" end a line
_SUBSCRIPT = re.compile(r"\d{1,2}(?:[A-Z][a-z]?\d*)*(?=[\s,;:)]|$)")  # "2 ", "3)" or "2O" start the next
_CODE = re.compile(
    r"^(?:\$|%|>>>|PS>|#!|//|/\*|<!--|-->)(?:\s|$)"  # prompts and comments
    r"|^[\])}]+[;,]?$|^}|[{\[(]$"  # brackets that open or close a block
    r"|^(?:fn|let|const|var|def|class|import|use|pub|struct|enum|impl|function|func|return|package|#include)\s"
    r".*[=(){};:<>\[\]]$"  # a keyword that opens a statement
    r"|^[^=(){}\[\]<>]*[=(){}\[\]<>].*;$|^[A-Za-z_][\w.\[\]]*\s=\s|::|=>|->|\s(?:[=!<>+*/-]=|&&|\|\|)\s"  # statements
)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
# a Markdown link ("[text](url)", "[text][ref]", "[text]") or an inline code span at the start of a line, up to the
# next space after it
_UNBROKEN = re.compile(r"(?:!?\[[^\]\n]*\](?:\([^)\n]*\)|\[[^\]\n]*\])?|`[^`\n]*`)\S*")


@dataclass(frozen=True)
class Unit:
    """A sentence, list item, heading, table cell or code line: `text[start:end]`, trimmed.

    `kind` is "prose", "item" (a list item's first sentence), "heading", "cell", "code" or "mark" (a code
    fence or a rule); `group` numbers the run of lines a unit was read from, `para` its paragraph."""

    start: int
    end: int
    kind: str
    group: int
    para: int


@dataclass
class _Line:
    start: int
    end: int  # without the trailing whitespace
    kind: str  # prose, item, heading, table, code, mark
    para: int


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of `text[start:end]`, each a trimmed (start, end) span into `text`."""
    return [(u.start, u.end) for u in units(text, start, end)]


def units(text: str, start: int = 0, end: int | None = None) -> list[Unit]:
    """The units of `text[start:end]` in order, each with its kind, line group and paragraph."""
    end = len(text) if end is None else end
    out: list[Unit] = []
    for number, group in enumerate(_groups(_lines(text, start, end), text)):
        first, last = group[0], group[-1]
        if first.kind in ("prose", "item"):
            out.extend(Unit(s, e, k, number, first.para) for s, e, k in _sentences(text, first, last.end))
        elif first.kind == "table":
            out.extend(Unit(s, e, "cell", number, first.para) for s, e in _cells(text, first.start, first.end))
        else:
            out.append(Unit(first.start, first.end, first.kind, number, first.para))
    return out


def _lines(text: str, start: int, end: int) -> list[_Line]:
    """The non-blank lines of the region, classified; fenced code is tracked across lines."""
    raw: list[tuple[int, int]] = []
    at = start
    while at < end:
        stop = text.find("\n", at, end)
        stop = end if stop == -1 else stop
        raw.append((at, stop))
        at = stop + 1
    fenced = _starts_inside_fence(text, raw)
    lines: list[_Line] = []
    para = 0
    indented = False
    for a, b in raw:
        line = text[a:b]
        if not line.strip():
            para, indented = para + 1, False
            continue
        fence = _FENCE.match(line)
        if fence:
            fenced = not fenced if not fence.group(2) else True
            kind = "mark"
        else:
            indented = indented or ((not lines or lines[-1].para != para) and _indent(line) >= 4)
            kind = "code" if fenced or (indented and not _ITEM.match(line)) else _kind(line)
            if kind == "mark" and _SETEXT.match(line) and _heading_above(lines, para):
                lines[-1].kind = "heading"  # "Release notes" over "=====": the line above is a heading
        lead = len(line) - len(line.lstrip())
        lines.append(_Line(a + lead, a + len(line.rstrip()), kind, para))
    return lines


def _heading_above(lines: list[_Line], para: int) -> bool:
    """Whether the last line is prose that opens paragraph `para`: a setext heading's text, over its underline."""
    opens = len(lines) == 1 or (len(lines) > 1 and lines[-2].para != para)
    return opens and lines[-1].kind == "prose" and lines[-1].para == para


def _starts_inside_fence(text: str, raw: list[tuple[int, int]]) -> bool:
    """Whether the region begins inside a fenced code block: its first fence is a bare one that closes
    (a line right before it, nothing right after it)."""
    for i, (a, b) in enumerate(raw):
        fence = _FENCE.match(text, a, b)
        if fence:
            before = i > 0 and bool(text[raw[i - 1][0] : raw[i - 1][1]].strip())
            after = i + 1 < len(raw) and bool(text[raw[i + 1][0] : raw[i + 1][1]].strip())
            return not fence.group(2) and before and not after
    return False


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _kind(line: str) -> str:
    if _HEADING.match(line):
        return "heading"
    if _RULE.match(line) or _LINK_DEFINITION.match(line):
        return "mark"
    if _ITEM.match(line):
        return "item"
    body = line.strip()
    if body.startswith("|") or "\t" in body:
        return "table"
    return "code" if looks_like_code(body) else "prose"


def looks_like_code(line: str) -> bool:
    """Whether one line reads as code or a shell command rather than prose (inline `code` aside)."""
    return bool(_CODE.search(_INLINE_CODE.sub("`x`", line.strip())))


def _groups(lines: list[_Line], text: str) -> list[list[_Line]]:
    """Runs of lines a reader reads as one: a paragraph's hand-wrapped lines, a list item and its wrapped
    continuation lines; every other line alone."""
    by_para: dict[int, list[int]] = {}
    for line in lines:
        if line.kind in ("prose", "item"):
            by_para.setdefault(line.para, []).append(_width(text, line))
    widths = {para: _wrap_width(found) for para, found in by_para.items()}
    groups: list[list[_Line]] = []
    for line in lines:
        previous = groups[-1][-1] if groups else None
        if previous and previous.para == line.para and _wraps(text, groups[-1][0].start, previous, line, widths):
            groups[-1].append(line)
        else:
            groups.append([line])
    return groups


def _wrap_width(widths: list[int]) -> int:
    """The width a paragraph's lines were wrapped at: its widest line, unless that one stands far out from the
    next widest, which are about as wide as each other (lines wrapped at one width, and a long link or name no
    editor breaks): then the outlier is not counted."""
    ordered = sorted(widths)
    while len(ordered) >= 4 and ordered[-1] > 1.2 * ordered[-2] and ordered[-2] <= 1.1 * ordered[-3]:
        ordered.pop()
    return ordered[-1]


def _width(text: str, line: _Line) -> int:
    """The line's length from the start of its line, as a text editor counts it."""
    return line.end - (text.rfind("\n", 0, line.start) + 1)


def _wraps(text: str, since: int, previous: _Line, line: _Line, widths: dict[int, int]) -> bool:
    """Whether `line` continues `previous` (a line break that a writer's editor or a PDF put in): the
    previous line is prose that did not end its sentence, and was so full that the next word did not fit;
    or the break cuts a chemical formula from its subscript. `since`: where the run of lines `previous` ends
    began; `widths`: the widest prose line of each paragraph."""
    before, width = text[previous.start : previous.end], widths.get(line.para, 0)
    if previous.kind in ("prose", "item") and _cuts_subscript(text[since : previous.end], text[line.start : line.end]):
        return True
    if previous.kind not in ("prose", "item") or line.kind != "prose" or width < 30:
        return False
    after = _QUOTE_MARK.sub("", text[line.start : line.end], count=1)
    if before.endswith((":", "\\")) or text.startswith("  ", previous.end):  # Markdown's hard line breaks
        return False
    if _TERMINAL.search(before) and not _abbreviation_at_end(text, previous.end):
        return False
    last_word = before.rsplit(None, 1)[-1].lower() if before.split() else ""
    loose = after[:1].islower() or last_word in _CONNECTORS or before.endswith((",", ";", "-"))
    # what the editor would have had to fit on the previous line: the first word, or a link or code span whole
    unbroken = _UNBROKEN.match(after)
    first = unbroken.group(0) if unbroken else (after.split(None, 1)[0] if after.split() else "")
    return _width(text, previous) + 1 + len(first) > (0.7 if loose else 0.9) * width


def _cuts_subscript(before: str, after: str) -> bool:
    """Whether a line break falls between a formula's element symbols and its subscript digits ("when O" /
    "2 combines", "(silica SiO" / "2)", "Al" / "2O" / "3)"), as text taken from web pages and PDFs often has
    it. `before` runs from the start of the lines read together so far. A digit and a bracket starting the next
    line read as a list number unless they close a bracket left open."""
    digits = _SUBSCRIPT.match(after)
    if digits is None or not _FORMULA_END.search(before):
        return False
    closes = after.startswith(")", digits.end())
    return not closes or before.rfind("(") > before.rfind(")")


def _abbreviation_at_end(text: str, end: int) -> bool:
    return end > 0 and _is_abbreviation(text, end - 1)


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an abbreviation or an initial rather than a sentence."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘`*_":
        start -= 1
    word = text[start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


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


def _sentences(text: str, first: _Line, end: int) -> list[tuple[int, int, str]]:
    """The sentences of one run of prose lines (a list item when `first` is one), as (start, end, kind)."""
    marker = _ITEM.match(text, first.start, end) if first.kind == "item" else None
    quotes = _quotations(text, first.start, end)
    cuts = [first.start]
    for match in _END.finditer(text, marker.end() if marker else first.start, end):
        at, stop = match.start(), match.end()
        if not _is_abbreviation(text, at) and not any(a < at and stop <= b for a, b in quotes):
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
