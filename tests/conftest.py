"""Shared fixtures: one real MiniLM embedder, a real Chroma server, per-test QA objects and a small corpus.

No mocks: every fixture builds the real thing (embedded Chroma, a `chroma run` server process on loopback,
the packaged MiniLM model, real PDF/HTML/Markdown files).
"""

from __future__ import annotations

import os

# Set before anything starts a child process (the `qa` CLI, the Chroma server): children inherit these, so
# an accidental download or telemetry call in them hits a dead local port (the discard port, 9) instead of
# the internet. pytest-socket only guards this process; these guard the others. Loopback stays direct.
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
    os.environ[_name] = os.environ[_name.lower()] = "http://127.0.0.1:9"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"  # Chroma's own telemetry switch (server and clients)

import shutil  # noqa: E402  (the environment above must be in place first)
import sys  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, NoReturn  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from qa import QA, Settings  # noqa: E402
from qa.index.embedders import Embedder, MiniLMEmbedder  # noqa: E402
from qa.index.store import ChunkStore  # noqa: E402
from tests.processes import free_port, server_process  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI") == "true"  # set by .ci/run (and by most CI services)
SEED = ROOT / "seeds" / "north-korean-troops-in-kursk.txt"
SEED_QUESTION = "Who oversees the training of the North Korean troops?"

MARKDOWN_DOC = """# Sourdough at home

A sourdough starter is a culture of wild yeast and lactic acid bacteria kept alive with flour and water.
Feed the starter twice a day and keep it at room temperature before baking.

## Baking

Bake the loaf in a preheated cast iron pot at 250 degrees for twenty minutes with the lid on.
"""

HTML_DOC = """<!DOCTYPE html>
<html>
<head>
  <title>Tide pools of the Atlantic coast</title>
  <style>body { color: #333; } .zanzibarstyle { display: none; }</style>
  <script>var secret = "quetzalscript"; console.log("quetzalscript loaded");</script>
</head>
<body>
  <h1>Tide pools</h1>
  <p>Sea anemones and starfish live in the tide pools that form between high and low tide.</p>
  <p>Hermit crabs move into larger shells as they grow, and barnacles filter plankton from the water.</p>
  <noscript>Enable scripts to see the hiddenoscriptword gallery.</noscript>
  <ul><li>Visit at low tide.</li><li>Do not lift the rocks.</li></ul>
</body>
</html>
"""

PDF_PAGES = [
    "Page one is about glaciers. Glaciers are slow rivers of ice that carve valleys over thousands of "
    "years. Meltwater from glaciers feeds many rivers in summer.",
    "Page two is about volcanoes. A volcano erupts when magma rises through cracks in the crust. "
    "Volcanic ash can ground aircraft for days.",
    "Page three is about lighthouses. The Fresnel lens let a lighthouse beam reach sailors far out at sea. "
    "Lighthouse keepers trimmed the wicks every night.",
]


def make_pdf(pages: list[str]) -> bytes:
    """A real PDF with one page per text (fpdf2, core helvetica font, ASCII only)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_bytes(data.encode("utf-8"))  # no newline translation
    else:
        path.write_bytes(data)
    return path


class CrashingEmbedder:
    """The real embedder, except that its `fail_on`-th `embed` call raises: a run killed mid-ingest."""

    def __init__(self, inner: Embedder, fail_on: int) -> None:
        self.name = inner.name
        self._inner = inner
        self._fail_on = fail_on
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self._fail_on:
            raise RuntimeError(f"simulated crash in embed call {self.calls}")
        return self._inner.embed(texts)


class MemoEmbedder:
    """The real embedder with a memory: a text embedded once is not embedded again this session.

    Same name, same vectors (MiniLM is deterministic); only repeated work is skipped, which matters on a
    2-core machine where a 200-token chunk costs ~0.1 s and many tests ingest the same files.
    """

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            self._memo.update(zip(missing, self._inner.embed(missing), strict=True))
        if not texts:
            return self._inner.embed([])
        return np.stack([self._memo[t] for t in texts])


def missing(what: str, install: str) -> NoReturn:
    """Skip a test whose optional requirement (`what`) is not installed, naming the command that installs it.
    Under CI (CI=true) the test fails instead: CI installs everything, so a skip there would hide a broken set-up."""
    reason = f"{what} is not installed ({install})"
    if IN_CI:
        pytest.fail(f"{reason}; CI must run this test", pytrace=False)
    pytest.skip(reason)


# --- the real embedder and the real Chroma server -----------------------------------------------------


@pytest.fixture(scope="session")
def real_embedder() -> MiniLMEmbedder:
    """The one real MiniLM model of the session (loading it costs ~0.6 s)."""
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def embedder(real_embedder: MiniLMEmbedder) -> MemoEmbedder:
    """The embedder every `QA` of the tests uses: the real one, memoised."""
    return MemoEmbedder(real_embedder)


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on a free loopback port; yields its URL."""
    folder = tmp_path_factory.mktemp("chroma-server")
    executable = Path(sys.executable).with_name("chroma")
    if not executable.exists():
        pytest.fail(f"the chroma console script is missing at {executable}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(executable), "run", "--path", str(folder / "data"), "--port", str(port), "--host", "127.0.0.1"]
    with server_process("the Chroma server", command, f"{url}/api/v2/heartbeat", folder / "server.log"):
        yield url


# --- QA objects --------------------------------------------------------------------------------------


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    """The Chroma a test's QA uses: "embedded" or "server", as `pytest_generate_tests` parametrises it."""
    return str(getattr(request, "param", "embedded"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that uses a store runs on the embedded one and on a Chroma server, unless its module is marked
    `embedded_only` (the store is not what it tests) or the test parametrises `store_kind` itself."""
    if "store_kind" not in metafunc.fixturenames:
        return
    if any("store_kind" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize")):
        return
    kinds: list[Any] = ["embedded"]
    if not metafunc.definition.get_closest_marker("embedded_only"):
        kinds.append(pytest.param("server", marks=pytest.mark.server))
    metafunc.parametrize("store_kind", kinds, indirect=True)


MakeSettings = Callable[..., Settings]
MakeQA = Callable[..., QA]


@pytest.fixture
def make_settings(request: pytest.FixtureRequest, store_kind: str, tmp_path: Path) -> MakeSettings:
    """`make_settings(**overrides)`: the test's settings (same home and collection on every call)."""
    chroma_url = request.getfixturevalue("chroma_server") if store_kind == "server" else None
    base: dict[str, Any] = {
        "home": tmp_path / "home",
        "chroma_url": chroma_url,
        "collection": "t-" + uuid.uuid4().hex[:12],
    }

    def make(**overrides: Any) -> Settings:
        return Settings(**{**base, **overrides})

    return make


@pytest.fixture
def make_qa(make_settings: MakeSettings, embedder: MemoEmbedder) -> MakeQA:
    """`make_qa(**overrides) -> QA` on this test's home and collection, with the shared real embedder.

    `using=` swaps the embedder (a fake implementing the `Embedder` protocol), `store=` the store.
    """

    def make(*, using: Embedder | None = None, store: ChunkStore | None = None, **overrides: Any) -> QA:
        return QA(make_settings(**overrides), embedder=using or embedder, store=store)

    return make


# --- files ---------------------------------------------------------------------------------------------


@pytest.fixture
def seed_folder(tmp_path: Path) -> Path:
    """A folder holding only the seed article."""
    folder = tmp_path / "seed"
    folder.mkdir()
    shutil.copyfile(SEED, folder / SEED.name)
    return folder


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder with the seed article (.txt), a Markdown page and an HTML page on other topics."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copyfile(SEED, folder / SEED.name)
    write(folder / "sourdough.md", MARKDOWN_DOC)
    write(folder / "tidepools.html", HTML_DOC)
    return folder


@pytest.fixture
def pdf_file(tmp_path: Path) -> Path:
    """A real three-page PDF, one topic per page."""
    return write(tmp_path / "pdf" / "nature.pdf", make_pdf(PDF_PAGES))
