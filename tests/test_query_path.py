"""The query path reads from Chroma only what a write can have changed: the store reuses its revision, chunk count
and chunks until this process writes (through any store object) or `recheck` seconds pass, so another process's
write is seen within that time; and an extractive answer encodes its question once, for retrieval and scoring.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from qa import QA, Settings
from qa.answer.extractive import score
from qa.backends import make_client
from qa.errors import EmptyIndexError
from qa.index.embedders import Encoded, MiniLMEmbedder
from qa.index.freshness import RECHECK_S
from qa.index.store import ChromaStore
from qa.records import Hit, Passage, Span
from tests.conftest import SEED, SEED_QUESTION, MakeSettings, MemoEmbedder, write
from tests.processes import clean_env

ROOT = Path(__file__).resolve().parents[1]
SOURDOUGH = "# Sourdough\n\nFeed the sourdough starter with equal weights of flour and water every day.\n"
RYE = "# Sourdough\n\nFeed the sourdough starter with rye flour and warm water twice a day.\n"


def reader_qa(settings: Settings, embedder: MemoEmbedder, recheck: float) -> QA:
    """A QA whose store rereads the revision and count only after a write of this process, or `recheck` s."""
    store = ChromaStore(make_client(settings), settings.collection, embedder.name, recheck=recheck)
    return QA(settings, embedder=embedder, store=store)


def texts(index: QA, query: str, mode: str) -> list[str]:
    return [hit.text for hit in index.search(query, k=3, mode=mode)]


def test_a_write_through_another_store_object_is_seen_by_the_next_search(
    make_settings: MakeSettings, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    """Writer and reader are two `QA` objects of one process (as a server's request handlers may be): the
    reader never waits for its recheck time to see the writer's adds, updates and removals."""
    settings = make_settings()
    reader = reader_qa(settings, embedder, recheck=3600)
    with pytest.raises(EmptyIndexError):
        reader.search("sourdough starter")
    writer = QA(settings, embedder=embedder)
    path = write(tmp_path / "docs" / "sourdough.md", SOURDOUGH)
    assert writer.ingest([path]).ok
    for mode in ("dense", "lexical", "hybrid"):
        assert any("equal weights" in text for text in texts(reader, "feed the sourdough starter", mode)), mode
    write(path, RYE)
    assert writer.ingest([path]).ok
    for mode in ("dense", "lexical", "hybrid"):
        found = texts(reader, "feed the sourdough starter", mode)
        assert any("rye flour" in text for text in found) and not any("equal weights" in t for t in found), mode
    writer.remove(str(path))
    with pytest.raises(EmptyIndexError):
        reader.search("sourdough starter")


def ingest_in_another_process(settings: Settings, folder: Path) -> None:
    env = clean_env(QA_CHROMA_URL=str(settings.chroma_url), QA_COLLECTION=settings.collection)
    env["QA_HOME"] = str(settings.home)
    done = subprocess.run(
        [sys.executable, "-m", "qa", "ingest", str(folder)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.server
@pytest.mark.slow
def test_another_process_s_write_is_seen_once_the_recheck_time_has_passed(
    chroma_server: str, embedder: MemoEmbedder, tmp_path: Path
) -> None:
    """Two processes on one Chroma server: a reader that may reuse its reading for an hour still answers from
    it after the other process's write; one that rereads every time sees the write at once; one with the
    default recheck time sees it once that time has passed."""
    settings = Settings(home=tmp_path / "home", chroma_url=chroma_server, collection="t-recheck")
    first = write(tmp_path / "first" / "sourdough.md", SOURDOUGH)
    second = write(tmp_path / "second" / SEED.name, SEED.read_text(encoding="utf-8"))
    ingest_in_another_process(settings, first.parent)
    lazy, eager, default = (reader_qa(settings, embedder, r) for r in (3600, 0, RECHECK_S))
    counts = [index.store.count() for index in (lazy, eager, default)]
    assert counts[0] > 0 and counts == [counts[0]] * 3
    ingest_in_another_process(settings, second.parent)
    assert lazy.store.count() == counts[0]
    assert eager.store.count() > counts[0]
    assert any("Yevkurov" in text for text in texts(eager, SEED_QUESTION, "lexical"))
    time.sleep(RECHECK_S)
    assert default.store.count() == eager.store.count()
    for mode in ("dense", "lexical"):
        assert any("Yevkurov" in text for text in texts(default, SEED_QUESTION, mode)), mode


class CountingMiniLM(MiniLMEmbedder):
    """The real MiniLM, recording every text it reads (through `embed` or `encode`)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.read += texts
        return super().embed(texts)

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        self.read += texts
        return super().encode(texts)


def test_an_extractive_answer_reads_its_question_once(
    make_settings: MakeSettings, embedder: MemoEmbedder, seed_folder: Path
) -> None:
    """With one MiniLM embedding the index and reading the sentences, the question goes through the model
    once; the answer is the one given when retrieval and scoring each read it (another reader object)."""
    counting = CountingMiniLM()
    index = QA(make_settings(), embedder=counting)
    assert index.ingest([seed_folder]).ok
    counting.read.clear()
    once = index.ask(SEED_QUESTION, backend="extractive")
    assert counting.read.count(SEED_QUESTION) == 1
    twice = QA(make_settings(), embedder=embedder).ask(SEED_QUESTION, backend="extractive")
    assert not once.refused and "Yevkurov" in once.text
    assert (once.text, once.citations) == (twice.text, twice.citations)


def test_scoring_with_the_question_already_encoded_gives_the_same_ranking(real_embedder: MiniLMEmbedder) -> None:
    text = SEED.read_text(encoding="utf-8")[:3000]
    span = Span("d", "seed.txt", 0, len(text), text)
    passages = [Passage(1, Hit("c", span, 1.0, 1, 1))]
    asked = real_embedder.encode([SEED_QUESTION])[0]
    fresh = score(SEED_QUESTION, passages, real_embedder)
    given = score(SEED_QUESTION, passages, real_embedder, asked=asked)
    assert [(c.start, c.end, round(c.score, 6)) for c in fresh] == [(c.start, c.end, round(c.score, 6)) for c in given]
    assert len(fresh) > 3
