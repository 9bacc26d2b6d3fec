"""Whether a quote stops in the middle of its document's sentence: `ends_mid_sentence`, a pure function of the
document text and the quote's offsets, independent of qa's own sentence splitter."""

from __future__ import annotations

import re

SENTENCE_FINAL = ".!?…:;"
CLOSERS = "\"'”’»›)]}"  # closing quotes and brackets that may follow a sentence's final punctuation
# what starts a new block on the next line: indentation, a list marker, a heading, a table row, a code fence,
# or the underline of a setext heading ("=====", "-----") or a rule
_BLOCK_START = re.compile(r"[ \t]+\S|(?:[-*+•]|\d+[.)])[ \t]|#|\||```|~~~|(?:=+|-+)[ \t]*(?:\r?\n|$)")
_LINE_PREFIX = re.compile(r"[ \t]*(?:(?:[-*+•]|\d+[.)]|#+|>|\|)[ \t]*)?")  # indentation and a block marker
_FENCE = re.compile(r"^[ \t]*(?:```|~~~)", re.M)


def _block_line(document: str, line_start: int) -> bool:
    """Whether the line starting at `line_start` is a block of its own: it opens with a block marker (or
    indentation), or it lies inside a fenced code block."""
    line_end = document.find("\n", line_start)
    line = document[line_start : line_end if line_end >= 0 else None]
    if _BLOCK_START.match(line) or _tab_row(line):
        return True
    return len(_FENCE.findall(document, 0, line_start)) % 2 == 1


def _tab_row(line: str) -> bool:
    """A row of an HTML table as the loaders write it: cells separated by tabs."""
    return "\t" in line.strip()


def ends_mid_sentence(document: str, start: int, end: int) -> bool:
    """Whether the quote `document[start:end]` stops where its document goes on with the same sentence.

    Independent of qa's sentence splitter. The quote ends cleanly if, past any trailing whitespace, it reaches
    the end of the document; or its last character is sentence-final punctuation (. ! ? … : ;), optionally
    followed by closing quotes or brackets; or the document goes on with a blank line, or with a line break
    and the start of a new block (indentation, a list marker, a heading `#`, a table row `|`, a code fence,
    a setext heading's underline or a rule);
    or it is a whole line that is a block of its own (a heading, list item, table row (`|`, or cells separated
    by tabs) or code line), or a table cell (a tab follows it).
    Anything else (mid-line, or at a hard-wrapped line break followed by more of the sentence) is counted.
    """
    body = document[start:end].rstrip()
    rest = document[start + len(body) :]
    last = body.rstrip(CLOSERS)[-1:]
    if not body or not rest.strip() or (last and last in SENTENCE_FINAL):
        return False
    if rest.startswith("\t"):
        return False  # a table cell: the loaders separate cells with a tab
    line_end = re.match(r"[ \t|]*(?:\r?\n|$)", rest)
    if line_end is None:
        return True  # the line goes on
    following = rest[line_end.end() :]
    if re.match(r"[ \t]*(?:\r?\n|$)", following) or _BLOCK_START.match(following) or _tab_row(following.split("\n")[0]):
        return False  # a blank line, or a new block, follows
    line_start = document.rfind("\n", 0, start + len(body)) + 1
    whole = start <= line_start or _LINE_PREFIX.fullmatch(document[line_start:start]) is not None
    return not (whole and _block_line(document, line_start))
