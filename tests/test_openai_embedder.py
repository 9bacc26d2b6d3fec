"""The OpenAI embeddings backend against a real HTTP server on loopback."""

from __future__ import annotations

import numpy as np
import pytest

from qa import QA, BackendError, EmbedderMismatchError, Settings
from qa.index.embedders import OpenAIEmbedder
from tests.fake_openai import serve


def test_embeds_through_the_openai_client_in_order() -> None:
    with serve() as server:
        embedder = OpenAIEmbedder("fake-embed", server.url, "sk-test", timeout=5, batch_size=2)
        vectors = embedder.embed(["north korean troops", "winter clothing", "north korean soldiers"])
    assert vectors.shape == (3, 64)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1]  # shared words are closer
    assert [len(r["body"]["input"]) for r in server.requests] == [2, 1]  # batched
    assert {r["body"]["model"] for r in server.requests} == {"fake-embed"}


def test_qa_ingests_and_searches_with_openai_embedder(tmp_path) -> None:
    with serve() as server:
        settings = Settings(
            home=tmp_path / "home", embedder="openai", embed_model="fake-embed", openai_base_url=server.url
        )
        qa = QA(settings)
        report = qa.ingest(["seeds/"])
        assert report.added and not report.failed
        hits = qa.search("Who oversees the training of the DPRK troops?", k=2, mode="dense")
        assert any("Yevkurov" in hit.text for hit in hits)
        for hit in hits:
            assert qa.document(hit.doc_id).text[hit.start : hit.end] == hit.text
        # the same collection opened with the local embedder is refused, not silently mixed
        with pytest.raises(EmbedderMismatchError, match="openai:fake-embed"):
            QA(Settings(home=tmp_path / "home"))


def test_retries_a_server_error_then_succeeds() -> None:
    with serve() as server:
        server.fail_next(500)
        vectors = OpenAIEmbedder("fake-embed", server.url, None, timeout=5).embed(["hello"])
    assert vectors.shape == (1, 64)
    assert len(server.requests) == 2


def test_dead_endpoint_names_the_url() -> None:
    with serve() as server:
        dead = server.url
    embedder = OpenAIEmbedder("fake-embed", dead, None, timeout=2)
    with pytest.raises(BackendError, match="127.0.0.1"):
        embedder.embed(["hello"])


def test_timeout_is_reported_as_backend_error() -> None:
    with serve() as server:
        server.fail_next(200, delay=2.0, times=3)
        embedder = OpenAIEmbedder("fake-embed", server.url, None, timeout=0.5)
        with pytest.raises(BackendError, match="timed out|Timeout"):
            embedder.embed(["hello"])
