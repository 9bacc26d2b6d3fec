"""Read a Word document (.docx) into plain text in reading order: paragraphs and headings as blocks, list items
one a line behind the marker Word shows, tables as rows (the layout qa/ingest/office.py describes)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

from qa.errors import IngestError
from qa.ingest.office import clean_block, open_package, table_row, table_text
from qa.ingest.parts import short_reason

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RUN_PARTS = (
    ".//w:r[not(ancestor::w:txbxContent) and not(ancestor::w:del) and not(ancestor::w:moveFrom)]"
    "/*[self::w:t or self::w:tab or self::w:br or self::w:cr or self::w:noBreakHyphen]"
)


def docx_text(source: str, data: bytes, max_bytes: int) -> str:
    """A Word document's body: paragraphs and headings as blocks, list items one per line, tables as rows."""
    import docx

    open_package(source, data, "docx", max_bytes).close()
    try:
        document = docx.Document(io.BytesIO(data))
        numbering = _Numbering(document)
        blocks = list(_word_blocks(document.element.body, numbering))
    except Exception as exc:  # python-docx and lxml raise many types on malformed packages
        raise IngestError(source, f"not a readable Word document ({short_reason(exc)})") from None
    return "\n\n".join(b for b in blocks if b)


def _word_blocks(container: Any, numbering: _Numbering) -> Iterator[str]:
    """The blocks of a body or table cell in document order; content controls are read through."""
    items: list[str] = []
    for child in _word_children(container):
        if child.tag == f"{_W}p":
            text = clean_block(_paragraph_text(child))
            marker = numbering.marker(child) if text else None
            if marker is not None:
                items.append(f"{marker} {text}")
                continue
            if items:
                yield "\n".join(items)
                items = []
            yield text
        elif child.tag == f"{_W}tbl":
            if items:
                yield "\n".join(items)
                items = []
            rows = child.iterchildren(f"{_W}tr")
            yield table_text([table_row(_cell_text(tc, numbering) for tc in _row_cells(tr)) for tr in rows])
    if items:
        yield "\n".join(items)


def _word_children(container: Any) -> Iterator[Any]:
    for child in container.iterchildren():
        if child.tag == f"{_W}sdt":
            for content in child.iterchildren(f"{_W}sdtContent"):
                yield from _word_children(content)
        else:
            yield child


def _row_cells(tr: Any) -> Iterator[Any]:
    yield from (tc for tc in _word_children(tr) if tc.tag == f"{_W}tc")


def _cell_text(tc: Any, numbering: _Numbering) -> str:
    """A cell's text on one line; a cell that continues a vertical merge shows nothing of its own."""
    merged = tc.find(f"{_W}tcPr/{_W}vMerge")
    if merged is not None and merged.get(f"{_W}val", "continue") == "continue":
        return ""
    return " ".join(b for b in _word_blocks(tc, numbering) if b)


def _paragraph_text(p: Any) -> str:
    pieces: list[str] = []
    for el in p.xpath(_RUN_PARTS):  # python-docx elements know the w: prefix
        name = el.tag[len(_W) :]
        if name == "t":
            pieces.append(el.text or "")
        elif name == "noBreakHyphen":
            pieces.append("-")
        elif name == "br" and el.get(f"{_W}type", "textWrapping") != "textWrapping":
            pieces.append(" ")
        else:
            pieces.append("\n" if name in ("br", "cr") else " ")
    return "".join(pieces)


class _Numbering:
    """The markers Word shows before list items: "•" for bullets, the counter in its format for numbered lists."""

    def __init__(self, document: Any) -> None:
        try:
            self._root: Any = document.part.numbering_part.element
        except (KeyError, NotImplementedError):  # python-docx cannot make one up for a document without lists
            self._root = None
        self._styles = {s.get(f"{_W}styleId"): s for s in document.styles.element.iterchildren(f"{_W}style")}
        self._counters: dict[str, dict[int, int]] = {}

    def marker(self, p: Any) -> str | None:
        found = self._num_pr(p)
        if found is None:
            return None
        num_id, level = found
        lvl = self._level(num_id, level)
        kind = _val(lvl, "numFmt") or "decimal"
        if kind == "bullet":
            return "  " * level + "•"
        if kind == "none":
            return None
        counts = self._counters.setdefault(num_id, {})
        counts[level] = counts.get(level, int(_val(lvl, "start") or 1) - 1) + 1
        for deeper in [k for k in counts if k > level]:
            del counts[deeper]
        pattern = _val(lvl, "lvlText") or f"%{level + 1}."
        shown = re.sub(r"%([1-9])", lambda m: _format(counts.get(int(m.group(1)) - 1, 1), kind), pattern)
        return "  " * level + (shown.strip() or "•")

    def _num_pr(self, p: Any) -> tuple[str, int] | None:
        """(numId, level) from the paragraph's own properties, else from its style's (and their bases')."""
        pr = p.find(f"{_W}pPr/{_W}numPr")
        style_id = _val(p.find(f"{_W}pPr"), "pStyle")
        for _ in range(10):
            if pr is not None and _val(pr, "numId") is not None:
                num_id = _val(pr, "numId") or "0"
                return None if num_id == "0" else (num_id, int(_val(pr, "ilvl") or 0))
            style = self._styles.get(style_id)
            if style is None:
                return None
            pr = style.find(f"{_W}pPr/{_W}numPr")
            style_id = _val(style, "basedOn")
        return None

    def _level(self, num_id: str, level: int) -> Any:
        if self._root is None:
            return None
        num = self._root.find(f"{_W}num[@{_W}numId='{num_id}']")
        abstract_id = _val(num, "abstractNumId")
        abstract = self._root.find(f"{_W}abstractNum[@{_W}abstractNumId='{abstract_id}']")
        return None if abstract is None else abstract.find(f"{_W}lvl[@{_W}ilvl='{level}']")


def _val(el: Any, child: str) -> str | None:
    """The w:val of `el`'s child element `child`, None when either is missing."""
    if el is None:
        return None
    found = el.find(f"{_W}{child}")
    return None if found is None else found.get(f"{_W}val")


def _format(n: int, kind: str) -> str:
    if kind in ("lowerLetter", "upperLetter"):
        letter = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter.upper() if kind == "upperLetter" else letter
    if kind in ("lowerRoman", "upperRoman"):
        roman = _roman(n)
        return roman.lower() if kind == "lowerRoman" else roman
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, numeral in zip(
        (1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1),
        ("M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"),
        strict=True,
    ):
        count, n = divmod(n, value)
        out += numeral * count
    return out
