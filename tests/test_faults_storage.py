"""Storage under faults: a process killed (SIGKILL) at every step of an ingest or a removal, then a re-run, gives
exactly the state of a run that was never interrupted, for dense and lexical search alike; and nothing is written
outside the home folder.

The kills are real: each run under test is a child process (`python -m tests.test_faults_storage SPEC`) whose
store is the real Chroma store wrapped by `KillingStore`, which sends SIGKILL to its own process right before
its n-th write (`add`, `delete` or `touch`). A first run without a kill counts the writes, so every step is
covered: killed before write 1 (nothing written), between any two writes, and before the last one. The test
process opens an index only after every child that writes it has died, since an embedded Chroma does not see
another process's writes to a collection it already has open.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qa import QA, Settings
from qa.errors import NotFoundError
from qa.index.store import ChromaStore, StoredChunk
from qa.ingest.pipeline import doc_id_for
from tests.conftest import HTML_DOC, MARKDOWN_DOC, SEED, SEED_QUESTION, write

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # each kill is a child process that loads the model and Chroma

QUERIES = [SEED_QUESTION, "feed the sourdough starter", "hermit crabs in tide pools", "pickled cucumbers in brine"]
MIXED = "the sourdough starter, the tide pools and the training of the troops"  # some words of every document
PICKLES = "# Pickles\n\nCucumbers become pickles in brine with dill, garlic and mustard seed.\n"
COLLECTION = "faults"


class KillingStore:
    """The real store, except that the process kills itself (SIGKILL) right before write number `kill_before`
    (1-based; 0: never). `writes` names the writes made, in order."""

    def __init__(self, inner: ChromaStore, kill_before: int) -> None:
        self._inner = inner
        self._kill_before = kill_before
        self.writes: list[str] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def _step(self, name: str) -> None:
        self.writes.append(name)
        if len(self.writes) == self._kill_before:
            os.kill(os.getpid(), signal.SIGKILL)

    def add(self, chunks: Sequence[StoredChunk], vectors: np.ndarray) -> None:
        self._step("add")
        self._inner.add(chunks, vectors)

    def delete(self, chunk_ids: Sequence[str]) -> None:
        self._step("delete")
        self._inner.delete(chunk_ids)

    def touch(self, *args: Any, **kwargs: Any) -> None:
        self._step("touch")
        self._inner.touch(*args, **kwargs)


# --- the scenarios, and the child process that runs one ---------------------------------------------------


def settings_for(home: Path) -> Settings:
    return Settings(home=home, collection=COLLECTION)


def lay_out(corpus: Path) -> None:
    """(Re)write the corpus files as they are before any scenario."""
    shutil.rmtree(corpus, ignore_errors=True)
    write(corpus / SEED.name, SEED.read_text(encoding="utf-8"))
    write(corpus / "sourdough.md", MARKDOWN_DOC)
    write(corpus / "tidepools.html", HTML_DOC)


def scenario(name: str, corpus: Path) -> dict[str, Any]:
    """What a child does: `setup` paths ingested and the BM25 cache built (so a stale cache can be left
    behind), `rewrite` files changed, then the operation under test (`ingest` paths, or `remove` one)."""
    seed, sourdough = str(corpus / SEED.name), str(corpus / "sourdough.md")
    return {
        "add": {"setup": [seed], "rewrite": {}, "ingest": [str(corpus)]},
        "update": {"setup": [str(corpus)], "rewrite": {sourdough: PICKLES}, "ingest": [str(corpus)]},
        "remove": {"setup": [str(corpus)], "rewrite": {}, "remove": sourdough},
    }[name]


def child(spec: dict[str, Any]) -> None:
    settings = settings_for(Path(spec["home"]))
    setup = QA(settings)
    if spec["setup"]:
        setup.ingest(spec["setup"])
    setup.warm()
    for path, text in spec["rewrite"].items():
        write(Path(path), text)
    store = KillingStore(setup.store, spec["kill_before"])  # type: ignore[arg-type]
    worker = QA(settings, embedder=setup.embedder, store=store)  # type: ignore[arg-type]
    if "ingest" in spec:
        worker.ingest(spec["ingest"])
    else:
        worker.remove(spec["remove"])
    print(json.dumps({"writes": store.writes}))


def run_child(spec: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    command = [sys.executable, "-m", "tests.test_faults_storage", json.dumps(spec)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def rerun(index: QA, spec: dict[str, Any]) -> None:
    if "ingest" in spec:
        assert index.ingest(spec["ingest"]).ok
        return
    with contextlib.suppress(NotFoundError):  # the killed run had already deleted every chunk
        index.remove(spec["remove"])


# --- what is compared ----------------------------------------------------------------------------------------


def snapshot(index: QA) -> dict[str, Any]:
    """The index as a user sees it: chunk ids, documents, and the ranked hits of each search mode."""
    return {
        "ids": sorted(chunk_id for chunk_id, _ in index.store.all_texts()),
        "documents": [(d.doc_id, d.chunks, d.chars) for d in index.documents()],
        "search": {
            mode: {q: [(h.chunk_id, round(h.score, 6)) for h in index.search(q, k=8, mode=mode)] for q in QUERIES}
            for mode in ("dense", "lexical", "hybrid")
        },
    }


def lexical_matches_the_store(index: QA) -> None:
    """Lexical search answers as an index freshly built from what the store holds would: no chunk missing,
    none deleted (the cached index is dropped, and a new `QA` rebuilds it, to compare)."""

    def ranked(probe: QA) -> list[list[tuple[str, float]]]:  # k=2: a deleted chunk would take a hit's place
        return [[(h.chunk_id, round(h.score, 6)) for h in probe.search(q, k=k, mode="lexical")] for q, k in asked]

    asked = [(q, 8) for q in QUERIES] + [(MIXED, 2)]
    cached = ranked(index)
    shutil.rmtree(index.settings.home / "bm25")
    assert cached == ranked(QA(index.settings, embedder=index.embedder))


@pytest.mark.parametrize("name", ["add", "update", "remove"])
def test_a_kill_at_every_step_then_a_rerun_gives_the_clean_state(name: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    lay_out(corpus)
    spec = scenario(name, corpus)
    clean = run_child({**spec, "home": str(tmp_path / "clean"), "kill_before": 0})
    assert clean.returncode == 0, clean.stderr[-2000:]
    writes = json.loads(clean.stdout.splitlines()[-1])["writes"]
    assert writes[0] == "touch" and writes[-1] == "touch"  # the revision moves before and after the change
    expected = snapshot(QA(settings_for(tmp_path / "clean")))
    if name == "update":
        assert any(doc_id == doc_id_for(corpus / "sourdough.md") for doc_id, _, _ in expected["documents"])
    for point in range(1, len(writes) + 1):
        lay_out(corpus)
        home = tmp_path / f"killed-before-write-{point}"
        killed = run_child({**spec, "home": str(home), "kill_before": point})
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        reader = QA(settings_for(home))  # opened after the kill, kept across the re-run (a server, say)
        lexical_matches_the_store(reader)
        rerun(QA(settings_for(home)), spec)
        assert snapshot(reader) == expected, f"killed before write {point} of {writes}"
        assert snapshot(QA(settings_for(home))) == expected, f"killed before write {point} of {writes}"


# --- nothing outside the home folder ---------------------------------------------------------------------


def test_the_cli_writes_nothing_outside_its_home(tmp_path: Path) -> None:
    """`qa ingest`, `qa ask`, `qa search` and `qa docs` with a temporary HOME: every file they write is under
    QA_HOME (onnxruntime used to leave a device id and an event database under ~/.cache)."""
    user, work = tmp_path / "user", tmp_path / "work"
    user.mkdir()
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "XDG_", "ORT_"))}
    env.update(HOME=str(user), QA_HOME=str(work / "index"))
    for args in (["ingest", str(ROOT / "seeds")], ["ask", SEED_QUESTION], ["search", "training"], ["docs"]):
        done = subprocess.run(
            [sys.executable, "-m", "qa", *args], cwd=work, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(str(p.relative_to(user)) for p in user.rglob("*")) == []
    assert [p.name for p in work.iterdir()] == ["index"]


if __name__ == "__main__":
    child(json.loads(sys.argv[1]))
