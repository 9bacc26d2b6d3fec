"""Find files to ingest and read each one into a `Loaded` record (text, markdown, HTML, PDF; Word, PowerPoint
and EPUB through qa/ingest/office.py)."""

from __future__ import annotations

import io
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import IngestError
from qa.records import Loaded

if TYPE_CHECKING:
    from bs4 import BeautifulSoup
    from bs4.element import PageElement, Tag

    _Item = tuple[PageElement, bool] | str | int

_ORDER = (".docx", ".epub", ".html", ".htm", ".md", ".markdown", ".pdf", ".pptx", ".txt")
SUPPORTED: frozenset[str] = frozenset(_ORDER)
_KINDS = dict(zip(_ORDER, ("docx", "epub", "html", "html", "markdown", "markdown", "pdf", "pptx", "text"), strict=True))
_MB = 1024 * 1024
_EMPTY = "empty file, nothing to index"


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


# HTML: dropped subtrees, elements that end a line, elements that end a paragraph, table cells.
_DROP = _tags("script style noscript template svg title meta link base iframe")
_LINE = _tags("div li tr dt dd caption figcaption summary legend option html body")
_PARA = _tags(
    "p h1 h2 h3 h4 h5 h6 blockquote pre table ul ol dl menu section article header footer main nav aside"
    " figure form fieldset address details hr"
)
_CELL = _tags("td th")
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_FENCE = "```"
_LOG = logging.getLogger(__name__)
_PDF_LOCK = threading.Lock()  # one PDF at a time: pypdf's warnings are told apart by when they come


def _mb(size: int) -> str:
    """Megabytes with up to two decimals: "200", "1.02"."""
    return f"{size / _MB:,.2f}".rstrip("0").rstrip(".")


def _unsupported(suffix: str) -> str:
    return f"unsupported file type {suffix or '(no extension)'} (supported: {', '.join(_ORDER)})"


def discover(
    paths: Sequence[str | Path],
) -> tuple[list[Path], list[tuple[str, str]], list[tuple[str, str]]]:
    """Expand files and folders into (files to load, failed, skipped); each file appears once."""
    files: list[Path] = []
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[Path] = set()

    def add(path: Path, explicit: bool) -> None:
        key = Path(os.path.realpath(path))
        if key in seen:
            return
        seen.add(key)
        bad = failed if explicit else skipped
        if not path.is_file():
            bad.append((str(path), "not a regular file"))
        elif path.suffix.lower() not in SUPPORTED:
            bad.append((str(path), _unsupported(path.suffix.lower())))
        else:
            files.append(path)

    for given in paths:
        path = Path(given)
        if not path.exists():
            failed.append((str(given), "no such file or directory"))
        elif path.is_dir():
            for child in _walk(path, failed):
                add(child, explicit=False)
        else:
            add(path, explicit=True)
    return files, failed, skipped


def _walk(root: Path, failed: list[tuple[str, str]]) -> list[Path]:
    """Every non-hidden file under `root` (symlinked folders not followed), sorted by path components."""

    def on_error(err: OSError) -> None:
        failed.append((str(err.filename), f"cannot read the folder ({err.strerror or err})"))

    found: list[Path] = []
    for folder, dirs, names in os.walk(root, onerror=on_error):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(folder, n) for n in names if not n.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def load(path: Path, max_bytes: int) -> Loaded:
    """Read one supported file; raises IngestError with a one-line, actionable reason."""
    source = str(path)
    kind = _KINDS.get(path.suffix.lower())
    if kind is None:
        raise IngestError(source, _unsupported(path.suffix.lower()))
    data = _read(path, max_bytes)
    if kind in ("pdf", "pptx", "epub"):
        text, starts = _paged_text(source, kind, data, max_bytes)
        return Loaded(path=source, kind=kind, text=text, page_starts=starts)
    if kind == "docx":
        from qa.ingest.office import docx_text

        text = docx_text(source, data, max_bytes)
    else:
        text = _decode(source, data)
    if kind == "html":
        text = _html_text(text)
    if not text.lstrip("\ufeff").strip():
        raise IngestError(source, _EMPTY)
    return Loaded(path=source, kind=kind, text=text)


def _paged_text(source: str, kind: str, data: bytes, max_bytes: int) -> tuple[str, tuple[int, ...]]:
    """The text of a format with pages (PDF pages, slides, EPUB chapters) and the offset where each begins."""
    from qa.ingest.office import epub_text, pptx_text

    if kind == "pptx":
        return pptx_text(source, data, max_bytes)
    if kind == "epub":
        return epub_text(source, data, max_bytes, lambda markup: _html_text(markup, title=False))
    return _pdf_text(source, data)


def _read(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, after checking it is a regular, non-empty file within the size limit."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise IngestError(str(path), "not a regular file")
        _check_size(path, info.st_size, max_bytes)
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise IngestError(str(path), f"cannot read the file ({exc.strerror or exc})") from None
    _check_size(path, len(data), max_bytes)
    return data


def _check_size(path: Path, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise IngestError(
            str(path),
            f"file is too large ({_mb(size)} MB; the limit is {_mb(max_bytes)} MB; "
            "raise it with --max-file-mb / QA_MAX_FILE_MB)",
        )
    if size == 0:
        raise IngestError(str(path), _EMPTY)


def _decode(source: str, data: bytes) -> str:
    """Strict UTF-8 with line endings normalised to "\\n"; nothing else changes. A NUL byte anywhere means the
    file is not text (UTF-8 text never holds one): refused, never indexed."""
    nul = data.find(b"\x00")
    if 0 <= nul < 8192:
        raise IngestError(source, "binary file, not text")
    if nul >= 0:
        raise IngestError(source, f"binary file, not text (a NUL byte at offset {nul})")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        reason = f"not valid UTF-8 (byte 0x{bad:02x} at offset {exc.start}); re-save it as UTF-8"
        raise IngestError(source, reason) from None
    return _newlines(text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _html_text(markup: str, title: bool = True) -> str:
    """The visible text of a page: <title> first (unless `title` is false: a reader never sees an EPUB
    chapter's), a line per block, a blank line between paragraphs, a tab between table cells; code marked as
    Markdown marks it (inline `code`, a <pre> block fenced with ```), so that code is told from prose."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup.removeprefix("\ufeff"), "html.parser")
    title_tag = next((t for t in soup.find_all("title") if t.find_parent("svg") is None), None) if title else None
    head = _HTML_SPACE.sub(" ", title_tag.get_text()).strip() if title_tag is not None else ""
    body = _tidy(_html_join(soup))
    return "\n\n".join(part for part in (head, body) if part)


def _html_join(soup: BeautifulSoup) -> str:
    """Walk the tree without recursion; ints on the stack are pending line breaks (1 line, 2 paragraph)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    out: list[str] = []
    pending = 0
    stack: list[_Item] = [(c, False) for c in reversed(soup.contents)]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            pending = max(pending, item)
            continue
        if isinstance(item, str):
            piece = item
        else:
            node, pre = item
            if isinstance(node, Tag):
                _push_tag(stack, node, pre)
                continue
            if not isinstance(node, NavigableString) or isinstance(node, PreformattedString):
                continue
            piece = str(node) if pre else _HTML_SPACE.sub(" ", str(node))
        if not piece or (pending and not piece.strip()):
            continue
        if pending and out:
            out.append("\n" * pending)
        pending = 0
        out.append(piece)
    return "".join(out)


def _push_tag(stack: list[_Item], tag: Tag, pre: bool) -> None:
    """Schedule a tag's opening mark, children and closing mark (pushed in reverse)."""
    name = tag.name.lower()
    if name in _DROP:
        return
    if name == "br":
        stack.append("\n")
        return
    if name == "pre" and not pre:
        stack.extend([2, _fenced(tag), 2])
        return
    mark: str | int = 2 if name in _PARA else 1 if name in _LINE else "\t" if name in _CELL else ""
    if name == "code" and not pre and tag.get_text().strip():
        mark = "`"
    inner = pre or name == "textarea"
    stack.append(mark)
    stack.extend((c, inner) for c in reversed(tag.contents))
    stack.append(mark)


def _fenced(tag: Tag) -> str:
    """A <pre> block as a Markdown code fence, its lines as they stand (language from `language-x`)."""
    from bs4.element import NavigableString, PreformattedString, Tag

    def shown(piece: NavigableString) -> bool:
        parent = piece.parent
        while parent is not None and parent is not tag:
            if parent.name in _DROP:
                return False
            parent = parent.parent
        return not isinstance(piece, PreformattedString)

    pieces = [str(s) for s in tag.find_all(string=True) if isinstance(s, NavigableString) and shown(s)]
    code = tag.find("code")
    classes = code.get_attribute_list("class") if isinstance(code, Tag) else []
    language = next((c.removeprefix("language-") for c in classes if c and c.startswith("language-")), "")
    body = _newlines("".join(pieces)).strip("\n")
    return f"{_FENCE}{language}\n{body}\n{_FENCE}"


def _tidy(text: str) -> str:
    """Collapse spaces, keep one tab between table cells, strip lines, keep at most one blank line in a
    row, trim the ends; lines of fenced code keep their indentation."""
    lines: list[str] = []
    fenced = False
    for raw in _newlines(text).split("\n"):
        if raw.strip().startswith(_FENCE):
            fenced = not fenced if raw.strip() == _FENCE else True
            line = raw.strip()
        elif fenced:
            line = raw.rstrip()
        else:
            line = re.sub(r"[ \t]*\t[ \t]*", "\t", re.sub(r" +", " ", raw)).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


def _pdf_text(source: str, data: bytes) -> tuple[str, tuple[int, ...]]:
    """Pages' text joined by a blank line, with the offset where each page starts."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    pages: list[str] = []
    try:
        with _pdf_warnings_named(source):
            reader = PdfReader(io.BytesIO(data), strict=False)
            locked = reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
            if not locked:  # a NUL in extracted text is a glyph pypdf could not map: a space
                pages = [_newlines(page.extract_text() or "").replace("\x00", " ").rstrip() for page in reader.pages]
    except (DependencyError, FileNotDecryptedError):
        locked = True
    except Exception as exc:  # pypdf raises many types on malformed input
        raise IngestError(source, f"not a readable PDF ({_short(exc)})") from None
    if locked:
        raise IngestError(source, "the PDF is encrypted; decrypt it first")
    if not pages:
        raise IngestError(source, _EMPTY)
    if not any(p.strip() for p in pages):
        raise IngestError(source, "no extractable text in the PDF (scanned images? run OCR first)")
    starts = accumulate((len(p) + 2 for p in pages[:-1]), initial=0)
    return "\n\n".join(pages), tuple(starts)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _pdf_warnings_named(source: str) -> Iterator[None]:
    """While one PDF is read, hold back pypdf's warnings (bare lines like "incorrect startxref pointer(3)"),
    then log each once, on this module's logger, after the file's name."""
    pypdf_log = logging.getLogger("pypdf")
    collect = _Collect()
    with _PDF_LOCK:
        propagate, pypdf_log.propagate = pypdf_log.propagate, False
        pypdf_log.addHandler(collect)
        try:
            yield
        finally:
            pypdf_log.removeHandler(collect)
            pypdf_log.propagate = propagate
    for message in dict.fromkeys(collect.messages):
        _LOG.warning("%s: %s (pypdf)", source, message.strip())


def _short(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else ""
    return (first[:117] + "...") if len(first) > 120 else first or type(exc).__name__
