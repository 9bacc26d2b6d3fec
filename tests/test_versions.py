"""A document's stored version names its text, its chunk settings and where its chunks fall, so a release of qa
that cuts a document otherwise stores it again whole: one version never mixes chunks of two chunkings (it would
read as "only partly stored")."""

from __future__ import annotations

from pathlib import Path

from qa.ingest.chunking import chunk_spans
from qa.ingest.pipeline import document_version, make_chunks
from qa.records import Loaded
from qa.settings import Settings
from qa.text.tokens import count_tokens
from tests.conftest import SEED


def test_the_version_changes_with_where_the_chunks_fall_and_only_then() -> None:
    text = SEED.read_text(encoding="utf-8")
    spans = chunk_spans(text, 200, 40, count_tokens)
    assert document_version("c", text, spans) == document_version("c", text, list(spans))
    merged = [(spans[0][0], spans[1][1]), *spans[2:]]  # what a splitter that read one sentence fewer might cut
    assert document_version("c", text, merged) != document_version("c", text, spans)
    assert document_version("c", text + " ", spans) != document_version("c", text, spans)
    assert document_version("d", text, spans) != document_version("c", text, spans)


def test_every_chunk_of_a_document_carries_its_version_and_count(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    stored = make_chunks(Loaded(str(tmp_path / "seed.txt"), "text", text), "doc", "seed.txt", Settings())
    assert len({item.version for item in stored}) == 1
    assert {item.doc_chunks for item in stored} == {len(stored)}
