"""Read Word (.docx), PowerPoint (.pptx) and EPUB files into plain text, in reading order.

Blocks (a paragraph, a run of list items, a table) are separated by a blank line; a list item is a line of its
own behind the marker a reader sees ("•", "1.", "a)"); a table row is a line with a tab between cells, as the HTML
loader writes one. Slides and chapters start where `page_starts` says, as PDF pages do.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from qa.errors import IngestError

_LOG = logging.getLogger(__name__)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RUN_PARTS = (
    ".//w:r[not(ancestor::w:txbxContent) and not(ancestor::w:del) and not(ancestor::w:moveFrom)]"
    "/*[self::w:t or self::w:tab or self::w:br or self::w:cr or self::w:noBreakHyphen]"
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: an encrypted Office file, or a legacy .doc/.ppt
_UNPACK_FACTOR = 10  # what a package may unpack to, in multiples of the file size limit
_FONT_OBFUSCATION = frozenset(("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"))
_DRM_FILES = ("META-INF/rights.xml", "META-INF/sinf.xml")
_SPACES = re.compile(r"[ \t\xa0]+")
_NAMES = {"docx": "Word document", "pptx": "PowerPoint file", "epub": "EPUB book"}


def _package(source: str, data: bytes, kind: str, max_bytes: int) -> zipfile.ZipFile:
    """The file as a zip archive, after checking it is one and does not unpack to far more than the limit."""
    name = _NAMES[kind]
    if data.startswith(_OLE):
        legacy = {"docx": ".doc", "pptx": ".ppt", "epub": "other"}[kind]
        raise IngestError(source, f"the {name} is password-protected or in the {legacy} format; save it as .{kind}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise IngestError(source, f"not a readable {name} (not a zip archive: {exc}); is it really .{kind}?") from None
    if unpacked > _UNPACK_FACTOR * max_bytes:
        raise IngestError(
            source,
            f"the {name} unpacks to {unpacked / 2**20:,.1f} MB, over {_UNPACK_FACTOR} times the file size limit; "
            "raise the limit with --max-file-mb / QA_MAX_FILE_MB",
        )
    return archive


def _clean(text: str) -> str:
    """One block's text: runs of spaces and tabs as one space, lines trimmed, no blank lines inside."""
    lines = (_SPACES.sub(" ", line).strip() for line in re.split(r"[\r\n\v\f]", text))
    return "\n".join(line for line in lines if line)


def _row(cells: Iterator[str]) -> str:
    """A table row as one line: a tab between cells, each cell's lines joined by a space."""
    return "\t".join(_clean(c).replace("\n", " ") for c in cells).strip("\t")


def _table(rows: list[str]) -> str:
    return "\n".join(r for r in rows if r.strip())


# --- Word ---------------------------------------------------------------------------------------------------


def docx_text(source: str, data: bytes, max_bytes: int) -> str:
    """A Word document's body: paragraphs and headings as blocks, list items one per line, tables as rows."""
    import docx

    _package(source, data, "docx", max_bytes).close()
    try:
        document = docx.Document(io.BytesIO(data))
        numbering = _Numbering(document)
        blocks = list(_word_blocks(document.element.body, numbering))
    except Exception as exc:  # python-docx and lxml raise many types on malformed packages
        raise IngestError(source, f"not a readable Word document ({_short(exc)})") from None
    return "\n\n".join(b for b in blocks if b)


def _word_blocks(container: Any, numbering: _Numbering) -> Iterator[str]:
    """The blocks of a body or table cell in document order; content controls are read through."""
    items: list[str] = []
    for child in _word_children(container):
        if child.tag == f"{_W}p":
            text = _clean(_paragraph_text(child))
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
            yield _table([_row(_cell_text(tc, numbering) for tc in _row_cells(tr)) for tr in rows])
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


# --- PowerPoint ---------------------------------------------------------------------------------------------


def pptx_text(source: str, data: bytes, max_bytes: int) -> tuple[str, tuple[int, ...]]:
    """Each slide's text frames and tables (top to bottom, left to right), then its notes; slide n starts at
    `starts[n - 1]`, so every hit carries its slide number as a PDF hit carries its page."""
    from pptx import Presentation

    _package(source, data, "pptx", max_bytes).close()
    try:
        slides = ["\n\n".join(b for b in _slide_blocks(slide) if b) for slide in Presentation(io.BytesIO(data)).slides]
    except Exception as exc:  # python-pptx and lxml raise many types on malformed packages
        raise IngestError(source, f"not a readable PowerPoint file ({_short(exc)})") from None
    return _joined(source, slides, "slides")


def _slide_blocks(slide: Any) -> Iterator[str]:
    yield from _shape_blocks(slide.shapes)
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        yield from (_clean(p.text) for p in slide.notes_slide.notes_text_frame.paragraphs)


def _shape_blocks(shapes: Any) -> Iterator[str]:
    """Every paragraph of a text frame as a block of its own (a slide's bullet points are short lines that
    must not be read as one sentence), every table as a block; groups are read through."""
    for shape in sorted(shapes, key=lambda s: (s.top or 0, s.left or 0)):
        if getattr(shape, "shapes", None) is not None:  # a group
            yield from _shape_blocks(shape.shapes)
        elif getattr(shape, "has_table", False):
            rows = shape.table.rows
            yield _table([_row(c.text for c in row.cells if not c.is_spanned) for row in rows])
        elif getattr(shape, "has_text_frame", False):
            yield from (_clean(p.text) for p in shape.text_frame.paragraphs)


def _joined(source: str, parts: list[str], what: str) -> tuple[str, tuple[int, ...]]:
    """Parts joined by a blank line, with the offset where each starts; an error when none holds text."""
    if not any(p.strip() for p in parts):
        raise IngestError(source, f"no text in any of its {what}" if parts else "empty file, nothing to index")
    starts = accumulate((len(p) + 2 for p in parts[:-1]), initial=0)
    return "\n\n".join(parts), tuple(starts)


# --- EPUB ---------------------------------------------------------------------------------------------------


def epub_text(source: str, data: bytes, max_bytes: int, html_text: Callable[[str], str]) -> tuple[str, tuple[int, ...]]:
    """The visible text of each chapter (the spine's documents, in reading order); chapter n (counting those
    with text) starts at `starts[n - 1]`. An EPUB with DRM is refused: its chapters are ciphertext."""
    with _package(source, data, "epub", max_bytes) as archive:
        _refuse_drm(source, archive)
        chapters = [html_text(markup) for markup in _spine(source, archive)]
    return _joined(source, [c for c in chapters if c.strip()], "chapters")


def _refuse_drm(source: str, archive: zipfile.ZipFile) -> None:
    names = set(archive.namelist())
    algorithms: set[str] = set()
    if "META-INF/encryption.xml" in names:
        root = _xml(source, archive, "META-INF/encryption.xml")
        algorithms = {el.get("Algorithm", "") for el in root.iter() if _local(el.tag) == "EncryptionMethod"}
    if algorithms - _FONT_OBFUSCATION or names.intersection(_DRM_FILES):
        raise IngestError(source, "the EPUB is encrypted (DRM); only EPUBs without DRM can be read")


def _spine(source: str, archive: zipfile.ZipFile) -> Iterator[str]:
    """The markup of each document of the spine, in order; one the package lacks is skipped with a warning."""
    container = _xml(source, archive, "META-INF/container.xml")
    rootfile = next((el.get("full-path") for el in container.iter() if _local(el.tag) == "rootfile"), None)
    if not rootfile:
        raise IngestError(source, "not a readable EPUB book (META-INF/container.xml names no package file)")
    opf = _xml(source, archive, rootfile)
    base = posixpath.dirname(rootfile)
    manifest = {el.get("id"): el.get("href", "") for el in opf.iter() if _local(el.tag) == "item"}
    for ref in (el for el in opf.iter() if _local(el.tag) == "itemref"):
        href = manifest.get(ref.get("idref"))
        name = posixpath.normpath(posixpath.join(base, unquote(href))) if href else ""
        try:
            raw = archive.read(name)
        except KeyError:
            missing = name or ref.get("idref")
            _LOG.warning("%s: the spine names %s, which the book does not hold; skipped", source, missing)
            continue
        yield _decode_chapter(source, name, raw)


def _decode_chapter(source: str, name: str, raw: bytes) -> str:
    encoding = "utf-16" if raw.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise IngestError(source, f"the chapter {name} is not valid UTF-8 (byte at offset {exc.start})") from None


def _xml(source: str, archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(name))
    except KeyError:
        raise IngestError(source, f"not a readable EPUB book (it has no {name})") from None
    except (ElementTree.ParseError, zipfile.BadZipFile, ValueError) as exc:
        raise IngestError(source, f"not a readable EPUB book ({name}: {_short(exc)})") from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _short(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else ""
    return (first[:117] + "...") if len(first) > 120 else first or type(exc).__name__
