"""Uploaded files: where they are kept, which are refused, and saving them so the folder always matches the index.

The chat app and the HTTP service both save uploads here, so the same file uploaded through either is one
document. Each collection has one folder, `<home>/uploads/<collection>/`; a file's name there is the name it was
uploaded under, cleaned by `file_name`. Uploads are refused before they touch the disk for an unusable name, an
unsupported type or a size over the limit; one that then fails to load or ingest leaves nothing behind (the
bytes it replaced are put back). Saving is atomic: the bytes go to a hidden staging file, are loaded there, and
only then renamed over the old file.

Adding and removing take turns under one lock, `<home>/uploads/.<collection>.lock`, held with `flock` on a file
opened for each turn: it holds between processes (the app and `qa serve` on one home) and between threads.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from qa.errors import IngestError, NotFoundError, abbreviated
from qa.ingest.loaders import SUPPORTED, load
from qa.ingest.pipeline import display_source
from qa.records import DocInfo, IngestReport
from qa.settings import Settings

__all__ = ["Index", "Upload", "Uploads", "file_name", "folder", "lock_file", "locked", "refusal"]

NAME_LIMIT = 200  # bytes of UTF-8, well under the 255 most file systems allow
_STAGING = ".upload-"


class Index(Protocol):
    """What uploads need of the index: `QA` itself, or a wrapper that serialises calls into it."""

    @property
    def settings(self) -> Settings: ...

    def documents(self) -> list[DocInfo]: ...

    def ingest(self, paths: Sequence[Path]) -> IngestReport: ...

    def remove(self, doc_id: str) -> IngestReport: ...


@dataclass(frozen=True)
class Upload:
    """One uploaded file: the name the client gave it (None if it gave none) and its bytes, in memory or as a
    seekable binary stream (a web framework's spooled upload)."""

    name: str | None
    data: bytes | BinaryIO

    def size(self) -> int:
        if isinstance(self.data, bytes):
            return len(self.data)
        here = self.data.tell()
        end = self.data.seek(0, os.SEEK_END)
        self.data.seek(here)
        return end - here

    def write_to(self, path: Path) -> None:
        stream = io.BytesIO(self.data) if isinstance(self.data, bytes) else self.data
        with path.open("xb") as out:
            shutil.copyfileobj(stream, out)


def folder(settings: Settings) -> Path:
    """The folder uploads to this collection are saved in."""
    return settings.home / "uploads" / settings.collection


def lock_file(settings: Settings) -> Path:
    """The file whose `flock` guards this collection's uploads."""
    return settings.home / "uploads" / f".{settings.collection}.lock"


@contextlib.contextmanager
def locked(settings: Settings) -> Iterator[None]:
    """This collection's uploads to ourselves until the block ends, against other processes, and against other
    threads too: the lock file is opened anew each time, and `flock` locks one open file, not one process."""
    path = lock_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the handle closes
        yield


def file_name(raw: str | None) -> str | None:
    """The name an upload is saved under: its last path part, printable, with no leading dots (so nothing lands
    outside the folder or hides from `qa ingest`); None if nothing usable is left."""
    name = PurePosixPath((raw or "").replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    return name if name and len(name.encode()) <= NAME_LIMIT else None


def _size(size: float) -> str:
    """ "1.5 MB", "2 KB": two decimals at most."""
    unit, scale = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    return f"{size / scale:,.2f}".rstrip("0").rstrip(".") + f" {unit}"


def refusal(raw: str | None, size: int, max_bytes: int) -> str | None:
    """Why an upload is refused before it touches the disk, or None."""
    name = file_name(raw)
    if name is None:
        return "not a usable file name; rename the file and upload it again"
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in SUPPORTED:
        return f"unsupported file type {suffix or '(no extension)'} (supported: {', '.join(sorted(SUPPORTED))})"
    if size > max_bytes:
        return f"file is too large ({_size(size)}; the limit is {_size(max_bytes)}; raise it with QA_MAX_FILE_MB)"
    return None


class Uploads:
    """The uploads folder of the index's collection: add files to it and the index, remove them from both."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.folder = folder(index.settings)
        self._threads = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """This collection's uploads to ourselves, against other threads and other processes."""
        with self._threads, locked(self.index.settings):
            yield

    def add(self, files: Sequence[Upload]) -> IngestReport:
        """Save the files and ingest them, in one report; those refused or failing are its `failed`."""
        with self.locked():
            self.folder.mkdir(parents=True, exist_ok=True)
            self._sweep()
            refused: list[tuple[str, str]] = []
            kept: dict[Path, Path | None] = {}  # each saved file, and a copy of what it replaced
            try:
                for upload in files:
                    problem = self._save(upload, kept)
                    if problem:
                        refused.append(problem)
                report = self.index.ingest(sorted(kept)) if kept else IngestReport()
                self._put_back(kept, {Path(source).resolve() for source, _ in report.failed})
            finally:
                self._sweep()
            report.failed = refused + report.failed
            return report

    def _save(self, upload: Upload, kept: dict[Path, Path | None]) -> tuple[str, str] | None:
        """Put the upload in its place if it loads; else (source, reason) and nothing changes."""
        reason = refusal(upload.name, upload.size(), self.index.settings.max_file_bytes)
        name = file_name(upload.name)
        if reason or name is None:
            return upload.name or "(no name)", reason or ""
        target = self.folder / name
        staging = self._staging(target.suffix)
        try:
            upload.write_to(staging)
            load(staging, self.index.settings.max_file_bytes)  # the ingest's own checks, with its messages
            if target not in kept:
                kept[target] = self._copy(target) if target.is_file() else None
            os.replace(staging, target)
        except IngestError as exc:
            return display_source(target), exc.reason
        finally:
            staging.unlink(missing_ok=True)
        return None

    def _staging(self, suffix: str) -> Path:
        return self.folder / f"{_STAGING}{uuid.uuid4().hex}{suffix}"

    def _copy(self, target: Path) -> Path:
        copy = self._staging(target.suffix)
        shutil.copy2(target, copy)
        return copy

    def _put_back(self, kept: dict[Path, Path | None], failed: set[Path]) -> None:
        """Restore what each failed file replaced (or remove it if it was new), so the folder matches the index."""
        for target, old in kept.items():
            if target.resolve() not in failed:
                continue
            if old is None:
                target.unlink(missing_ok=True)
            else:
                os.replace(old, target)

    def _sweep(self) -> None:
        """Remove staging files and copies: under the lock, any left are from this turn or one that crashed."""
        for leftover in self.folder.glob(f"{_STAGING}*"):
            leftover.unlink(missing_ok=True)

    def remove(self, doc_id: str, *, listed_by: str = "`qa docs`") -> IngestReport:
        """Remove a document and its chunks; an uploaded document's file goes too. `listed_by` names what lists
        the documents, for the message when there is no such document."""
        with self.locked():
            info = next((d for d in self.index.documents() if d.doc_id == doc_id), None)
            if info is None:
                raise NotFoundError(f"no document {abbreviated(doc_id)} in the index; {listed_by} lists them")
            report = self.index.remove(doc_id)
            path = Path(info.path)
            if self.owns(path):
                path.unlink(missing_ok=True)
            return report

    def owns(self, path: Path) -> bool:
        """Whether `path` is an uploaded file: in this collection's folder, or in `<home>/uploads/` itself, where
        the app saved uploads before each collection had its own folder."""
        return path.resolve().parent in (self.folder.resolve(), self.folder.parent.resolve())
