"""The library side of the app: uploads saved under the QA home and ingested, the bundled seeds, removal.

Uploads go through the same ingestion as `qa ingest` (idempotent: the same file again is "unchanged"; a
new version under the same name is "updated"). A file that fails leaves nothing behind: the bytes it
replaced are put back, so the folder keeps matching the index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path, PurePath

from qa import DocInfo, IngestReport, Settings
from qa.ingest.loaders import SUPPORTED
from ui.pipeline import Pipeline

UPLOAD_TYPES = sorted(suffix.lstrip(".") for suffix in SUPPORTED)
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def uploads_folder(settings: Settings) -> Path:
    return settings.home / "uploads"


def seeds_folder() -> Path | None:
    """The repository's bundled `seeds/` folder, if this checkout has it."""
    return SEEDS if SEEDS.is_dir() and any(SEEDS.iterdir()) else None


def _size(size: float) -> str:
    """ "1.5 MB", "2 KB": two decimals at most."""
    unit, scale = ("MB", 1024 * 1024) if size >= 1024 * 1024 else ("KB", 1024)
    return f"{size / scale:,.2f}".rstrip("0").rstrip(".") + f" {unit}"


def _file_name(name: str) -> str:
    """The name an upload is saved under: its last path part, so nothing lands outside the folder."""
    return PurePath(name.replace("\\", "/")).name


def _refusal(name: str, size: int, max_bytes: int) -> str | None:
    """Why an upload is refused before it touches the disk, or None."""
    clean = _file_name(name)
    if clean in ("", ".", ".."):
        return "not a usable file name; rename the file and upload it again"
    suffix = PurePath(clean).suffix.lower()
    if suffix not in SUPPORTED:
        return f"unsupported file type {suffix or '(no extension)'} (supported: {', '.join(sorted(SUPPORTED))})"
    if size > max_bytes:
        return f"file is too large ({_size(size)}; the limit is {_size(max_bytes)}; raise it with QA_MAX_FILE_MB)"
    return None


def add_uploads(pipeline: Pipeline, files: Sequence[tuple[str, bytes]]) -> IngestReport:
    """Save uploaded `(file name, bytes)` under `<home>/uploads/` and ingest them; one report for all."""
    with pipeline.lock:  # no other session may ingest or answer between saving and ingesting
        return _add(pipeline, files)


def _add(pipeline: Pipeline, files: Sequence[tuple[str, bytes]]) -> IngestReport:
    folder = uploads_folder(pipeline.settings)
    refused: list[tuple[str, str]] = []
    previous: dict[Path, bytes | None] = {}
    for name, data in files:
        reason = _refusal(name, len(data), pipeline.settings.max_file_bytes)
        if reason:
            refused.append((name, reason))
            continue
        target = folder / _file_name(name)
        folder.mkdir(parents=True, exist_ok=True)
        if target not in previous:
            previous[target] = target.read_bytes() if target.is_file() else None
        target.write_bytes(data)
    report = pipeline.ingest(sorted(previous)) if previous else IngestReport()
    failed = {Path(source).resolve() for source, _ in report.failed}
    for target, old in previous.items():
        if target.resolve() in failed:  # put back what was there, so the folder matches the index
            if old is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(old)
    report.failed = refused + report.failed
    return report


def ingest_seeds(pipeline: Pipeline) -> IngestReport:
    folder = seeds_folder()
    return pipeline.ingest([folder]) if folder else IngestReport(failed=[("seeds/", "no seeds/ folder here")])


def remove_document(pipeline: Pipeline, info: DocInfo) -> IngestReport:
    """Remove a document from the index; an uploaded one's file goes too."""
    report = pipeline.remove(info.doc_id)
    path = Path(info.path)
    if path.resolve().parent == uploads_folder(pipeline.settings).resolve():
        with contextlib.suppress(OSError):
            path.unlink()
    return report
