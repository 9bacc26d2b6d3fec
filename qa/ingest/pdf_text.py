"""The text of a PDF, page by page (pypdf), with the offset where each page starts; pypdf's warnings about a
malformed file are logged once each, after the file's name."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from qa.errors import IngestError
from qa.ingest.parts import EMPTY, join_parts, newlines, short_reason

_LOG = logging.getLogger(__name__)
_LOCK = threading.Lock()  # one PDF at a time: pypdf's warnings are told apart by when they come


def pdf_text(source: str, data: bytes) -> tuple[str, tuple[int, ...]]:
    """Pages' text joined by a blank line, with the offset where each page starts."""
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError

    pages: list[str] = []
    try:
        with _pdf_warnings_named(source):
            reader = PdfReader(io.BytesIO(data), strict=False)
            locked = reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED
            if not locked:  # a NUL in extracted text is a glyph pypdf could not map: a space
                pages = [newlines(page.extract_text() or "").replace("\x00", " ").rstrip() for page in reader.pages]
    except (DependencyError, FileNotDecryptedError):
        locked = True
    except Exception as exc:  # pypdf raises many types on malformed input
        raise IngestError(source, f"not a readable PDF ({short_reason(exc)})") from None
    if locked:
        raise IngestError(source, "the PDF is encrypted; decrypt it first")
    if not pages:
        raise IngestError(source, EMPTY)
    if not any(p.strip() for p in pages):
        raise IngestError(source, "no extractable text in the PDF (scanned images? run OCR first)")
    return join_parts(pages)


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
    with _LOCK:
        propagate, pypdf_log.propagate = pypdf_log.propagate, False
        pypdf_log.addHandler(collect)
        try:
            yield
        finally:
            pypdf_log.removeHandler(collect)
            pypdf_log.propagate = propagate
    for message in dict.fromkeys(collect.messages):
        _LOG.warning("%s: %s (pypdf)", source, message.strip())
