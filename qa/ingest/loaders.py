"""Find files to ingest and read each one into a `Loaded` record: plain text and Markdown here, the other formats
through their readers (qa/ingest/html_text.py, pdf_text.py, word.py, powerpoint.py, epub.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from qa.errors import IngestError
from qa.ingest.epub import epub_text
from qa.ingest.html_text import visible_text
from qa.ingest.parts import EMPTY, newlines
from qa.ingest.pdf_text import pdf_text
from qa.ingest.powerpoint import pptx_text
from qa.ingest.word import docx_text
from qa.records import Loaded

_ORDER = (".docx", ".epub", ".html", ".htm", ".md", ".markdown", ".pdf", ".pptx", ".txt")
SUPPORTED: frozenset[str] = frozenset(_ORDER)
_KINDS = dict(zip(_ORDER, ("docx", "epub", "html", "html", "markdown", "markdown", "pdf", "pptx", "text"), strict=True))
_MB = 1024 * 1024


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
    text = docx_text(source, data, max_bytes) if kind == "docx" else _decode(source, data)
    if kind == "html":
        text = visible_text(text)
    if not text.lstrip("\ufeff").strip():
        raise IngestError(source, EMPTY)
    return Loaded(path=source, kind=kind, text=text)


def _paged_text(source: str, kind: str, data: bytes, max_bytes: int) -> tuple[str, tuple[int, ...]]:
    """The text of a format with pages (PDF pages, slides, EPUB chapters) and the offset where each begins."""
    if kind == "pptx":
        return pptx_text(source, data, max_bytes)
    if kind == "epub":
        return epub_text(source, data, max_bytes)
    return pdf_text(source, data)


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
        raise IngestError(str(path), EMPTY)


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
    return newlines(text)
