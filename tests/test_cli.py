"""The `qa` command line as a real subprocess (`python -m qa ...`), on an embedded index in a tmp folder.

Each start costs a few seconds (imports, the model, Chroma), so the runs are few: one round trip through
ingest/search/docs, plus independent error cases started in the background at the beginning of the module
so that they overlap with it. Children inherit the dead-proxy environment set in conftest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa import QA, Settings
from tests.conftest import MARKDOWN_DOC, SEED, SEED_QUESTION, MemoEmbedder, write
from tests.processes import free_port, log_tail, wait_until_up

TIMEOUT = 180
pytestmark = pytest.mark.slow  # every test here waits for `qa` subprocesses


def child_env() -> dict[str, str]:
    """The test environment without any QA_* setting a developer may have exported."""
    return {k: v for k, v in os.environ.items() if not k.startswith("QA_")}


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "qa", *map(str, args)]


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(*args), cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=TIMEOUT)


@dataclass
class Background:
    """A CLI run started early; `result()` waits for it."""

    process: subprocess.Popen[str]
    args: list[str]

    def result(self) -> subprocess.CompletedProcess[str]:
        stdout, stderr = self.process.communicate(timeout=TIMEOUT)
        return subprocess.CompletedProcess(self.args, self.process.returncode, stdout, stderr)


def collection() -> str:
    return "cli-" + uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module", autouse=True)
def background(work: Path) -> Iterator[dict[str, Background]]:
    """The independent error-case runs, started together before the first test of this module."""
    bad = work / "bad-input"
    write(bad / "docs" / "good.txt", "Gannets dive into the sea from thirty metres to catch fish.\n")
    write(bad / "docs" / "bad.txt", b"caf\xe9 au lait, saved as Latin-1\n")
    runs = {
        "bad-input": (
            "ingest",
            bad / "docs",
            "/no/such/path",
            "--home",
            bad / "home",
            "--collection",
            "bad-input",
        ),
        "bad-setting": ("docs", "--home", work / "bad-setting", "--collection", "x"),
        "bad-setting-first": ("--collection", "x", "docs", "--home", work / "bad-setting-first"),
        "embedder-flag": ("docs", "--home", work / "embedder-flag", "--collection", "abc", "--embedder", "minilm"),
        "empty-search": ("search", SEED_QUESTION, "--home", work / "empty-search", "--collection", "nothing-here"),
        "rm-without-id": ("docs", "rm", "--home", work / "rm-without-id"),
    }
    started = {}
    for name, args in runs.items():
        folder = work / f"cwd-{name}"  # where a run that ignores --home would leave its ./.qa
        folder.mkdir()
        process = subprocess.Popen(
            command(*args), cwd=folder, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started[name] = Background(process, command(*args))
    yield started
    for job in started.values():
        if job.process.poll() is None:
            job.process.kill()
            job.process.communicate()


def test_round_trip_ingest_search_docs_rm(work: Path) -> None:
    folder = work / "round-trip" / "docs"
    folder.mkdir(parents=True)
    seed = folder / SEED.name
    shutil.copyfile(SEED, seed)
    text = SEED.read_text(encoding="utf-8")
    where = ("--home", work / "round-trip" / "home", "--collection", collection())
    cwd = work / "round-trip"

    ingest = run("ingest", folder, *where, cwd=cwd)
    assert ingest.returncode == 0, ingest.stderr
    summary = ingest.stdout.strip().splitlines()[-1]
    assert summary.startswith("1 added, 0 unchanged, 0 updated, 0 removed, 0 failed, 0 skipped;"), summary
    assert "Traceback" not in ingest.stderr

    found = run("search", SEED_QUESTION, "--json", "-k", "3", *where, cwd=cwd)
    assert found.returncode == 0, found.stderr
    payload = json.loads(found.stdout)
    assert payload["query"] == SEED_QUESTION
    hits = payload["hits"]
    assert 1 <= len(hits) <= 3
    for hit in hits:
        assert {"start", "end", "text", "source", "doc_id", "chunk_id", "score"} <= set(hit)
        assert text[hit["start"] : hit["end"]] == hit["text"]  # offsets point into the file itself
        assert (cwd / hit["source"]).resolve() == seed.resolve()  # relative to the working folder
        assert isinstance(hit["score"], float) and hit["score"] > 0
    assert any("Yunus-bek Yevkurov" in hit["text"] for hit in hits[:2])

    plain = run("search", "Yevkurov", "--mode", "lexical", *where, cwd=cwd)
    assert plain.returncode == 0, plain.stderr
    first = plain.stdout.splitlines()[0]
    assert first.startswith("[1] ") and SEED.name in first and "chars " in first
    assert "Yevkurov" in plain.stdout

    listing = run("docs", *where, cwd=cwd)
    assert listing.returncode == 0, listing.stderr
    header, row = listing.stdout.strip().splitlines()
    assert header.split() == ["id", "chunks", "chars", "source"]
    assert row.split()[2] == str(len(text)) and row.endswith(SEED.name)

    as_json = run("docs", "--json", *where, cwd=cwd)
    [info] = json.loads(as_json.stdout)
    assert info["chars"] == len(text) and info["chunks"] >= 1
    assert info["path"] == str(seed.resolve()) and info["doc_id"] == row.split()[0]

    removed = run("docs", "rm", seed, *where, cwd=cwd)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.startswith("removed ") and f"({info['chunks']} chunks)" in removed.stdout

    empty = run("docs", *where, cwd=cwd)
    assert empty.returncode == 0
    assert "the index is empty" in empty.stdout


def test_search_within_chosen_documents_and_a_name_that_matches_nothing(work: Path, embedder: MemoEmbedder) -> None:
    folder = work / "within"
    write(folder / "docs" / SEED.name, SEED.read_bytes())
    write(folder / "docs" / "kitchen" / "sourdough.md", MARKDOWN_DOC)
    where = ("--home", folder / "home", "--collection", collection())
    QA(Settings(home=folder / "home", collection=where[-1]), embedder=embedder).ingest([folder / "docs"])
    runs = {  # started together; each reads the same index
        "glob": ("search", SEED_QUESTION, "--doc", "kitchen/*.md", "--mode", "dense", "--json", "-k", "3"),
        "not": ("search", "sourdough starter flour", "--not-doc", "kitchen/**", "--json", "-k", "3"),
        "nothing": ("search", SEED_QUESTION, "--doc", "*.md", "--doc", "handbook/*.pdf"),
    }
    started = {
        name: Background(
            subprocess.Popen(command(*args, *where), cwd=folder, env=child_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True),
            command(*args),
        )
        for name, args in runs.items()
    }  # fmt: skip
    results = {name: job.result() for name, job in started.items()}
    for name in ("glob", "not"):
        assert results[name].returncode == 0, results[name].stderr
    within = json.loads(results["glob"].stdout)["hits"]
    assert within and {Path(hit["source"]) for hit in within} == {folder / "docs" / "kitchen" / "sourdough.md"}
    without = json.loads(results["not"].stdout)["hits"]
    assert len(without) == 3 and {Path(hit["source"]) for hit in without} == {folder / "docs" / SEED.name}
    nothing = results["nothing"]
    assert nothing.returncode == 2 and nothing.stdout == "", nothing
    assert nothing.stderr.startswith("error: no document in the index matches 'handbook/*.pdf': ")
    assert nothing.stderr.count("\n") == 1 and "`qa docs`" in nothing.stderr


def test_bad_input_fails_alone_with_exit_code_1(
    background: dict[str, Background], work: Path, embedder: MemoEmbedder
) -> None:
    result = background["bad-input"].result()
    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failures) == 2, result.stderr
    assert any("bad.txt" in line and "not valid UTF-8 (byte 0xe9 at offset 3)" in line for line in failures)
    assert any("/no/such/path" in line and "no such file" in line for line in failures)
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("1 added, 0 unchanged, 0 updated, 0 removed, 2 failed")
    # the good file of the same run is in the index
    index = QA(Settings(home=work / "bad-input" / "home", collection="bad-input"), embedder=embedder)
    [hit] = index.search("gannets dive", k=1)
    assert hit.source.endswith("good.txt") and "Gannets" in hit.text


@pytest.mark.parametrize("name", ["bad-setting", "bad-setting-first"])  # options go after or before the command
def test_a_bad_setting_is_one_line_and_exit_code_2(background: dict[str, Background], work: Path, name: str) -> None:
    result = background[name].result()
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: invalid collection name 'x'")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert not (work / f"cwd-{name}" / ".qa").exists()  # nothing was created anywhere


def test_the_embedder_option_is_accepted(background: dict[str, Background]) -> None:
    result = background["embedder-flag"].result()
    assert "Traceback" not in result.stderr, result.stderr[-300:]
    assert result.returncode == 0
    assert "the index is empty" in result.stdout


def test_searching_an_empty_index_says_what_to_do_with_exit_code_3(
    background: dict[str, Background], work: Path
) -> None:
    result = background["empty-search"].result()
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stderr == (
        f"error: the index holds no documents (home {work / 'empty-search'}, collection 'nothing-here'); "
        "add some with `qa ingest <folder>`\n"
    )
    assert result.stdout == ""


def test_docs_rm_without_an_id_says_so_before_opening_anything(background: dict[str, Background], work: Path) -> None:
    result = background["rm-without-id"].result()
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr == "error: say which document to remove: qa docs rm ID|PATH (`qa docs` lists them)\n"
    assert result.stdout == ""
    assert not (work / "rm-without-id").exists()  # no index was opened (nor any model loaded) to say it


def test_sigterm_to_qa_ui_stops_the_app_it_started(tmp_path: Path) -> None:
    """`kill PID` of `qa ui` (a service manager's stop) reaches the Streamlit child: the port is free afterwards.
    qa and its child run in a session of their own, so that whatever happens the test can kill exactly them."""
    port = free_port()
    command = [sys.executable, "-m", "qa", "--home", str(tmp_path / "home"), "ui", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QA_"))}
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    health = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        assert wait_until_up("qa ui", health, process, log, seconds=60) == b"ok"
        process.send_signal(signal.SIGTERM)  # to qa alone, not its process group
        assert process.wait(timeout=30) == 0, log_tail(log)
        with pytest.raises(OSError):  # the child is gone with it: nothing serves the port
            urllib.request.urlopen(health, timeout=2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the session started above, whatever is left of it
        process.wait(timeout=10)
