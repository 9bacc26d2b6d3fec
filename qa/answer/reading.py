"""Which units of a passage are read together, and which are no answer on their own. Pure functions, no I/O.

A sentence that announces what follows ("let's look at the rules", "as follows:") is read with what follows (the
list or the next sentences, within a length cap; code only as a short snippet after a colon); a question standing
as a paragraph of its own (a FAQ's heading) with its answer; a table row with its table's header row; a sentence
that refers back ("This can be done by ...", "The advantage of this approach is ...") with the sentence it refers
to. A label standing alone (a page's title, a navigation link) names something rather than saying anything about it,
and a cross-reference ("See also ...") points to an answer rather than giving one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from qa.text.sentences import Unit

_FOLLOWING_CAP = 500  # characters of what follows an announcement that are read with it
_SNIPPET_LINES, _SNIPPET_CAP = 3, 240  # the most code a colon's announcement is read with
_ANNOUNCES = re.compile(
    r"\bas follows\b|\bthe following(?: \w+)? (?:steps?|rules?|commands?|code|examples?|list|items?|options?|ways?|"
    r"reasons?|points?|properties|methods|functions|fields|requirements?|features?)\b|"
    r"\blet[’']s (?:first )?(?:take a (?:quick |closer )?look at|look at|review|go over|walk through)\b|"
    r"^here (?:are|is) (?:the|a|some)\b",
    re.I,
)


# a colon that introduces an example of what the sentence already says ("..., like this:", "For example:")
_EXAMPLE = re.compile(
    r"\b(?:like|as in) (?:this|so|these|the following)\s*:$|\b(?:for example|for instance|e\.g\.|example)\s*:$", re.I
)
_POINTS = re.compile(r"^\W*(?:see|refer to)\b", re.I)  # "See also ...", "(See section 3.)"
_STATES = re.compile(r"\w[:=]\s+\S")  # "Capital: Paris", "timeout = 30": a value stated
_ENDS = re.compile(r"""[.!?…:;]["'”’»)\]*_`]*$""")  # a sentence's last mark, and any closing ones
_UNNAMED = re.compile(r"^\W*(?:(?:the|its) default(?: value)? is|(?:it )?defaults to)\b", re.I)  # whose, unsaid
_REFERS = re.compile(
    r"^\W*(?:(?:\w+[ ,]+){0,3}?(?:this|these|such) \w+|the (?:latter|former)\b|(?:it|they) (?!is\b|was\b)\w+)", re.I
)


def announces(sentence: str) -> bool:
    """Whether a sentence announces what follows it rather than saying it: it ends with a colon, or reads
    like "as follows", "the following steps", "let's take a look at ..."."""
    stripped = sentence.rstrip().rstrip("\"'”’)*_")
    return stripped.endswith(":") or (len(stripped) <= 200 and bool(_ANNOUNCES.search(stripped)))


def asks(found: Sequence[Unit], i: int, text: str) -> bool:
    """Whether `found[i]` is a question standing as a paragraph of its own (a FAQ's heading, "How do I check
    for a keypress without blocking?"): what follows it is its answer."""
    unit = found[i]
    alone = (i == 0 or found[i - 1].para != unit.para) and (i + 1 == len(found) or found[i + 1].para != unit.para)
    return alone and unit.kind in ("prose", "heading") and text[unit.start : unit.end].rstrip("¶# ").endswith("?")


def label(found: Sequence[Unit], i: int, text: str) -> bool:
    """Whether `found[i]` is a label: a short line that ends no sentence and stands alone, as a paragraph of its
    own or in a run of lines like it (a page's title, its navigation or table of contents, a caption, a heading
    written as plain text): it names something rather than saying anything about it."""
    if not _short_line(found, i, text):
        return False
    unit = found[i]
    before = i > 0 and found[i - 1].para == unit.para
    after = i + 1 < len(found) and found[i + 1].para == unit.para
    return (
        not (before or after)
        or (before and _short_line(found, i - 1, text))
        or (after and _short_line(found, i + 1, text))
    )


def pointer(sentence: str) -> bool:
    """Whether a sentence only points elsewhere ("See module `glob` for pathname expansion.", "See also the
    documentation for `sys.version`."): it says where an answer may be, not what it is."""
    return bool(_POINTS.match(sentence))


def _short_line(found: Sequence[Unit], i: int, text: str) -> bool:
    """A prose unit that is a whole line of its own, of at most 12 words, ending no sentence and stating no value
    ("Capital: Paris" says something)."""
    unit = found[i]
    alone = (i == 0 or found[i - 1].group != unit.group) and (i + 1 == len(found) or found[i + 1].group != unit.group)
    piece = text[unit.start : unit.end]
    short = "\n" not in piece and len(piece.split()) <= 12 and not _ENDS.search(piece) and not _STATES.search(piece)
    return alone and unit.kind == "prose" and short


def following(found: Sequence[Unit], i: int, text: str, budget: int = _FOLLOWING_CAP) -> int:
    """The index of the last unit that what `found[i]` announces runs to (i itself when nothing follows):
    a list's items or the next paragraph's sentences, within `budget` characters; an announcement in there
    is followed in turn. Code is read with prose only as what a colon announces, and only a snippet (the line
    to write, "the first line of your file should be:" / "# -*- coding: cp1252 -*-"); longer code is not."""
    if i + 1 >= len(found) or found[i + 1].kind in ("heading", "code", "mark") or budget <= 0:
        return _snippet(found, i, text)
    first, last = found[i + 1], i + 1
    for j in range(i + 2, len(found)):
        unit, previous = found[j], found[j - 1]
        block = unit.kind == "item" if first.kind == "item" else unit.para == first.para
        if not (block or unit.group == previous.group) or unit.kind in ("heading", "code", "mark"):
            break
        if unit.end - found[i].end > budget:
            break
        last = j
    if announces(text[found[last].start : found[last].end]):
        return following(found, last, text, budget - (found[last].end - found[i].end))
    return last


def _snippet(found: Sequence[Unit], i: int, text: str) -> int:
    """The index of the last line of the short code block that `found[i]`, ending with a colon, introduces
    (fences aside: at most `_SNIPPET_LINES` lines, `_SNIPPET_CAP` characters); i itself when there is none, or
    when the colon introduces an example of what the sentence says already."""
    lead = text[found[i].start : found[i].end].rstrip("*_ ")
    if not lead.endswith(":") or _EXAMPLE.search(lead):
        return i
    j = i + 1
    while j < len(found) and found[j].kind == "mark" and j - i <= 2:
        j += 1
    if j >= len(found) or found[j].kind != "code":
        return i
    first = last = j
    while j < len(found) and found[j].kind == "code":
        last, j = j, j + 1
    ends = j >= len(found) or found[j].kind != "code"
    short = last - first < _SNIPPET_LINES and found[last].end - found[first].start <= _SNIPPET_CAP
    return last if ends and short else i


def rows(found: Sequence[Unit]) -> list[Unit]:
    """The units with each table row's cells read as one: a cell ("Vietnamese") means little without the row it
    stands in ("cp1258  windows-1258  Vietnamese"), and a question names the row by another of its cells."""
    out: list[Unit] = []
    for unit in found:
        if unit.kind == "cell" and out and out[-1].kind == "cell" and out[-1].group == unit.group:
            out[-1] = replace(out[-1], end=unit.end)
        else:
            out.append(unit)
    return out


def headers(found: Sequence[Unit]) -> dict[int, int]:
    """For each table row after the first (by index into `found`, as `rows` gives it), the index of its
    table's first row, which names the columns ("Codec  Aliases  Languages")."""
    out: dict[int, int] = {}
    first = -1
    for i, unit in enumerate(found):
        if unit.kind != "cell":
            first = -1
        elif first < 0 or found[first].para != unit.para:
            first = i
        else:
            out[i] = first
    return out


def referent(found: Sequence[Unit], i: int, text: str) -> Unit | None:
    """The sentence before `found[i]` in its paragraph when `found[i]` refers back to it within its first words
    ("The advantage of this approach is that ...", "This can be done by ...", "The latter is passed ...", "They
    take ..."; not "It is ...", an opening too common to say it refers back): read and quoted with it."""
    unit = found[i]
    if i == 0 or unit.kind != "prose" or not _REFERS.match(text[unit.start : unit.end]):
        return None
    before = found[i - 1]
    return before if before.kind == "prose" and before.para == unit.para else None


def topic(found: Sequence[Unit], i: int, text: str) -> Unit | None:
    """The sentence that opens the paragraph of `found[i]` when `found[i]` states a default without saying whose
    ("The compresslevel argument is an integer from 0 to 9 ... `0` is no compression. The default is `9`."): it is
    read with it, not quoted."""
    unit = found[i]
    if unit.kind != "prose" or not _UNNAMED.match(text[unit.start : unit.end]):
        return None
    first = next(j for j in range(i + 1) if found[j].para == unit.para)
    return found[first] if first < i and found[first].kind == "prose" else None
