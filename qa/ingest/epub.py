"""Read an EPUB book into plain text, chapter by chapter (the spine's documents, through the HTML reader), with the
offset where each chapter starts; a book with DRM is refused."""

from __future__ import annotations

import logging
import posixpath
import zipfile
from collections.abc import Iterator
from urllib.parse import unquote
from xml.etree import ElementTree

from qa.errors import IngestError
from qa.ingest.html_text import visible_text
from qa.ingest.office import join_parts_with_text, open_package
from qa.ingest.parts import short_reason

_LOG = logging.getLogger(__name__)
_FONT_OBFUSCATION = frozenset(("http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"))
_DRM_FILES = ("META-INF/rights.xml", "META-INF/sinf.xml")


def epub_text(source: str, data: bytes, max_bytes: int) -> tuple[str, tuple[int, ...]]:
    """The visible text of each chapter (the spine's documents, in reading order); chapter n (counting those
    with text) starts at `starts[n - 1]`. An EPUB with DRM is refused: its chapters are ciphertext."""
    with open_package(source, data, "epub", max_bytes) as archive:
        _refuse_drm(source, archive)
        chapters = [visible_text(markup, title=False) for markup in _spine(source, archive)]
    return join_parts_with_text(source, [c for c in chapters if c.strip()], "chapters")


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
        raise IngestError(source, f"not a readable EPUB book ({name}: {short_reason(exc)})") from None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
