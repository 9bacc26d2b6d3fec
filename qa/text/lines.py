"""Lines of a text as a reader sees its blocks. Pure functions, no I/O.

Each non-blank line is classified: prose, a list item, a heading, a table row, code (fenced or indented code, a
line that reads as code, an HTML comment, raw HTML) or a mark (a code fence, a rule, a link definition, a line of
nothing but tags). The lines of one paragraph that a writer's editor or a PDF wrapped are grouped, to be read as
one run of prose: lines wrapped at a width, lines broken at a phrase, a formula cut from its subscript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERMINAL = re.compile(r"""[.!?…]["'”’»)\]*_`]*$""")
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev inc ltd co corp vs etc e.g i.e no fig jan "
    "feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n approx dept est".split()
)
_CONNECTORS = frozenset("a an the of to and or in on for with by from that as at is are be".split())
_STOPS = re.compile(r"""[.!?…]["'”’»)\]*_`]*(?:\s|$)""")  # a sentence ends here
_DEFINES = re.compile(r"[\w.`$-]+(?: [\w.`$-]+)?[ \t]+[-–:][ \t]|\w+:[ \t]")  # "exslt - main header", "value: x"
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_FENCE = re.compile(r"[ \t>]*(```|~~~)\s*(\S*)")
_HEADING = re.compile(r"[ \t]*#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"[ \t]*(?:[-*_=+|:][ \t]*){3,}$")
_SETEXT = re.compile(r"[ ]{0,3}(?:=+|-+)[ \t]*$")  # the underline of a heading: "=====" or "-----"
# a Markdown link reference definition: "[name]: https://example.org/page "Title"" (where links point, not text)
_LINK_DEFINITION = re.compile(r"""[ ]{0,3}\[[^\]\n]+\]:[ \t]*<?[^\s>]+>?(?:[ \t]+["'(].*)?$""")
# a line that opens a block of raw HTML in Markdown (CommonMark's HTML blocks of block-level tags), and a line
# that holds nothing but tags
_HTML_BLOCK = re.compile(
    r"[ ]{0,3}</?(?:address|article|aside|blockquote|body|caption|center|colgroup|col|dd|details|dialog|div|dl|dt|"
    r"fieldset|figcaption|figure|footer|form|h[1-6]|header|hr|html|legend|li|main|nav|ol|p|section|summary|"
    r"table|tbody|td|tfoot|th|thead|tr|ul)(?=[\s/>]|$)",
    re.I,
)
_TAGS = re.compile(r"\s*(?:<[^<>\n]+>\s*)+")
ITEM = re.compile(r"[ \t>]*(?:[-*+•◦▪‣–]|(?:\d{1,3}[.)])+|[a-z][.)])[ \t]+(?=\S)")
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


@dataclass
class Line:
    """A non-blank line: `text[start:end]` without its indentation and trailing whitespace."""

    start: int
    end: int  # without the trailing whitespace
    kind: str  # prose, item, heading, table, code, mark
    para: int


def classify(text: str, start: int, end: int) -> list[Line]:
    """The non-blank lines of the region, classified; fenced code is tracked across lines."""
    raw: list[tuple[int, int]] = []
    at = start
    while at < end:
        stop = text.find("\n", at, end)
        stop = end if stop == -1 else stop
        raw.append((at, stop))
        at = stop + 1
    fenced = _starts_inside_fence(text, raw)
    commented = _starts_inside_comment(text, start, end)
    lines: list[Line] = []
    para = 0
    indented = markup = False
    for a, b in raw:
        line = text[a:b]
        if not line.strip():
            para, indented, markup = para + 1, False, False
            continue
        fence = _FENCE.match(line)
        markup = markup or (not fenced and not indented and bool(_HTML_BLOCK.match(line)))
        if commented or (not fenced and line.lstrip().startswith("<!--")):
            # an HTML comment (Markdown keeps metadata in them: "<!-- YAML", "added: v0.1.90", "-->"): data,
            # never prose
            commented = "-->" not in (line if commented else line[line.index("<!--") + 4 :])
            kind = "code"
        elif markup:  # raw HTML, to the next blank line ("<table>", "<tr>", "<td><a href=...>v1.2</a></td>")
            kind = "mark" if _TAGS.fullmatch(line) else "code"
        elif fence:
            fenced = not fenced if not fence.group(2) else True
            kind = "mark"
        else:
            indented = indented or ((not lines or lines[-1].para != para) and _indent(line) >= 4)
            kind = "code" if fenced or (indented and not ITEM.match(line)) else _kind(line)
            if kind == "mark" and _SETEXT.match(line) and _heading_above(lines, para):
                lines[-1].kind = "heading"  # "Release notes" over "=====": the line above is a heading
        lead = len(line) - len(line.lstrip())
        lines.append(Line(a + lead, a + len(line.rstrip()), kind, para))
    return lines


def _heading_above(lines: list[Line], para: int) -> bool:
    """Whether the last line is prose that opens paragraph `para`: a setext heading's text, over its underline."""
    opens = len(lines) == 1 or (len(lines) > 1 and lines[-2].para != para)
    return opens and lines[-1].kind == "prose" and lines[-1].para == para


def _starts_inside_fence(text: str, raw: list[tuple[int, int]]) -> bool:
    """Whether the region begins inside a fenced code block: its first fence is a bare one that closes (a line
    right before it, or none at all: the region starts at the fence, nothing right after it)."""
    for i, (a, b) in enumerate(raw):
        fence = _FENCE.match(text, a, b)
        if fence:
            before = i == 0 or bool(text[raw[i - 1][0] : raw[i - 1][1]].strip())
            after = i + 1 < len(raw) and bool(text[raw[i + 1][0] : raw[i + 1][1]].strip())
            return not fence.group(2) and before and not after
    return False


def _starts_inside_comment(text: str, start: int, end: int) -> bool:
    """Whether the region begins inside an HTML comment: a line ending with "-->" comes before any "<!--" and
    any blank line."""
    close = re.compile(r"-->[ \t]*$", re.M).search(text, start, end)
    if close is None:
        return False
    opens, blank = text.find("<!--", start, close.start()), _BLANK_LINE.search(text, start, close.start())
    return opens < 0 and blank is None


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def _kind(line: str) -> str:
    if _HEADING.match(line) or line.rstrip().endswith("¶"):  # "¶": a documentation page's permalink to a heading
        return "heading"
    if _RULE.match(line) or _LINK_DEFINITION.match(line):
        return "mark"
    if ITEM.match(line):
        return "item"
    body = line.strip()
    if body.startswith("|") or "\t" in body:
        return "table"
    return "code" if looks_like_code(body) else "prose"


def looks_like_code(line: str) -> bool:
    """Whether one line reads as code or a shell command rather than prose (inline `code` aside)."""
    return bool(_CODE.search(_INLINE_CODE.sub("`x`", line.strip())))


def groups(lines: list[Line], text: str) -> list[list[Line]]:
    """Runs of lines a reader reads as one: a paragraph's hand-wrapped lines, a list item and its wrapped
    continuation lines; every other line alone."""
    by_para: dict[int, list[int]] = {}
    for line in lines:
        if line.kind in ("prose", "item"):
            by_para.setdefault(line.para, []).append(_width(text, line))
    widths = {para: _wrap_width(found) for para, found in by_para.items()}
    groups: list[list[Line]] = []
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


def _width(text: str, line: Line) -> int:
    """The line's length from the start of its line, as a text editor counts it."""
    return line.end - (text.rfind("\n", 0, line.start) + 1)


def _wraps(text: str, since: int, previous: Line, line: Line, widths: dict[int, int]) -> bool:
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
    deeper = previous.kind == "prose" and _lead(text, line) > _lead(text, previous)  # a definition under its term
    if (
        not deeper
        and _semantic_break(before, after, last_word)
        and _STOPS.search(text, line.start, _paragraph_end(text, line.start))
    ):
        return True
    # what the editor would have had to fit on the previous line: the first word, or a link or code span whole
    unbroken = _UNBROKEN.match(after)
    first = unbroken.group(0) if unbroken else (after.split(None, 1)[0] if after.split() else "")
    return _width(text, previous) + 1 + len(first) > (0.7 if loose else 0.9) * width


def _lead(text: str, line: Line) -> int:
    return line.start - (text.rfind("\n", 0, line.start) + 1)


def _paragraph_end(text: str, at: int) -> int:
    blank = _BLANK_LINE.search(text, at)
    return blank.start() if blank else len(text)


def _semantic_break(before: str, after: str, last_word: str) -> bool:
    """Whether a writer broke a sentence at a phrase, however short the line ("If the `inputEncoding` is not" /
    "provided, ..."; "Servers must" / "implement handlers ..."): the next line goes on in lower case, or the
    line ends with a word that cannot end a sentence ("the", "of", "and"), and neither line reads as code.
    (The caller also asks that the paragraph ends a sentence later on: a list of short lines does not.)"""
    first = after.split(None, 1)[0] if after.split() else ""
    if len(re.findall(r"\w+", before)) < 2 or "(" in first or _DEFINES.match(before) or _DEFINES.match(after):
        return False  # a line of a list of names and what they are ("exslt - main header file")
    if looks_like_code(before) or looks_like_code(after):
        return False
    return after[:1].islower() or (last_word in _CONNECTORS and after[:1].isalnum())


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
    return end > 0 and is_abbreviation(text, end - 1)


def is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at `dot` closes an abbreviation or an initial rather than a sentence."""
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and not text[start - 1].isspace() and text[start - 1] not in "(\"'“‘`*_":
        start -= 1
    word = text[start:dot].lower()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())
