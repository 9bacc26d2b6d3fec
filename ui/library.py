"""The library side of the app: uploads saved and ingested through `qa.uploads`, the bundled seeds, removal.

Uploads go to the collection's uploads folder, the same one the HTTP service uses, so a file uploaded through
both is one document; ingestion is the same as `qa ingest` (idempotent: the same file again is "unchanged"; a
new version under the same name is "updated"). A file that fails leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from qa import DocInfo, IngestReport
from qa.ingest.loaders import SUPPORTED
from qa.uploads import Upload, Uploads
from ui.pipeline import Pipeline

UPLOAD_TYPES = sorted(suffix.lstrip(".") for suffix in SUPPORTED)
SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def seeds_folder() -> Path | None:
    """The repository's bundled `seeds/` folder, if this checkout has it."""
    return SEEDS if SEEDS.is_dir() and any(SEEDS.iterdir()) else None


def add_uploads(pipeline: Pipeline, files: Sequence[tuple[str, bytes]]) -> IngestReport:
    """Save uploaded `(file name, bytes)` in the uploads folder and ingest them; one report for all."""
    with pipeline.lock:  # no other session may ingest or answer between saving and ingesting
        return Uploads(pipeline).add([Upload(name, data) for name, data in files])


def ingest_seeds(pipeline: Pipeline) -> IngestReport:
    folder = seeds_folder()
    return pipeline.ingest([folder]) if folder else IngestReport(failed=[("seeds/", "no seeds/ folder here")])


def remove_document(pipeline: Pipeline, info: DocInfo) -> IngestReport:
    """Remove a document from the index; an uploaded one's file goes too."""
    with pipeline.lock:
        return Uploads(pipeline).remove(info.doc_id)
