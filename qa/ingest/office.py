"""What the Word, PowerPoint and EPUB readers share: each file is a zip package, opened only after checking it
is one and does not unpack to far more than the size limit; and the way their text is laid out.

Blocks (a paragraph, a run of list items, a table) are separated by a blank line; a list item is a line of its
own behind the marker a reader sees ("•", "1.", "a)"); a table row is a line with a tab between cells, as the HTML
reader writes one. Slides and chapters start where `page_starts` says, as PDF pages do.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

from qa.errors import IngestError
from qa.ingest.parts import EMPTY, join_parts

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a compound file: an encrypted Office file, or a legacy .doc/.ppt
_UNPACK_FACTOR = 10  # what a package may unpack to, in multiples of the file size limit
_SPACES = re.compile(r"[ \t\xa0]+")
_NAMES = {"docx": "Word document", "pptx": "PowerPoint file", "epub": "EPUB book"}


def open_package(source: str, data: bytes, kind: str, max_bytes: int) -> zipfile.ZipFile:
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


def clean_block(text: str) -> str:
    """One block's text: runs of spaces and tabs as one space, lines trimmed, no blank lines inside."""
    lines = (_SPACES.sub(" ", line).strip() for line in re.split(r"[\r\n\v\f]", text))
    return "\n".join(line for line in lines if line)


def table_row(cells: Iterator[str]) -> str:
    """A table row as one line: a tab between cells, each cell's lines joined by a space."""
    return "\t".join(clean_block(c).replace("\n", " ") for c in cells).strip("\t")


def table_text(rows: list[str]) -> str:
    """A table's rows, one a line; rows with no text left out."""
    return "\n".join(r for r in rows if r.strip())


def join_parts_with_text(source: str, parts: list[str], what: str) -> tuple[str, tuple[int, ...]]:
    """Parts joined by a blank line, with the offset where each starts; an error when none holds text."""
    if not any(p.strip() for p in parts):
        raise IngestError(source, f"no text in any of its {what}" if parts else EMPTY)
    return join_parts(parts)
