"""`qa ask` and `qa chat` as real subprocesses (`python -m qa ...`) on an embedded index of the seed article.

A start costs a few seconds (imports, the embedding model, Chroma), so the runs are few: four, started
together at the beginning of the module, each on its own index, while the tests wait for them.
Children inherit the dead-proxy environment set in conftest, and get no QA_*/OPENAI_* setting of the developer.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa import QA, Settings
from qa.index.embedders import Embedder
from tests.conftest import MARKDOWN_DOC, SEED, SEED_QUESTION, write
from tests.fake_openai import assert_grounded
from tests.processes import free_port

pytestmark = pytest.mark.slow  # every test here waits for `qa` subprocesses
TIMEOUT = 180
FOLLOW_UP = "What is his job title?"
YEVKUROV = (
    "Moscow has appointed Russian Deputy Defence Minister Yunus-bek Yevkurov to oversee the training and "
    "adaptation of DPRK troops, Ukrainian military intelligence said."
)
FOOTER = re.compile(r"^\(backend: extractive \| model: - \| \d+ ms\)$", re.M)
SHOWN = re.compile(r'^\[(\d+)\] (.+?), chars (\d+)-(\d+): "(.*)"$', re.S)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    return {**env, **extra}


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "qa", *map(str, args)]


@dataclass
class Run:
    process: subprocess.Popen[str]
    home: Path

    def result(self) -> subprocess.CompletedProcess[str]:
        stdout, stderr = self.process.communicate(timeout=TIMEOUT)
        return subprocess.CompletedProcess(self.process.args, self.process.returncode, stdout, stderr)


@dataclass
class Index:
    folder: Path
    collection: str
    text: str  # the seed file's text

    @property
    def seed(self) -> Path:
        return self.folder / "docs" / SEED.name


DEAD_URL = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there once the port's socket is closed


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Index:
    folder = tmp_path_factory.mktemp("cli-ask")
    (folder / "docs").mkdir()
    shutil.copyfile(SEED, folder / "docs" / SEED.name)
    return Index(folder, "ask-" + uuid.uuid4().hex[:12], SEED.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def runs(index: Index, embedder: Embedder) -> Iterator[dict[str, Run]]:
    """The answering runs, started together, each on its own index of the seed article (built in this
    process with the shared embedder: `qa ingest` itself is tested in test_cli.py)."""
    jobs = {
        "json": (("ask", SEED_QUESTION, "--json", "--backend", "extractive"), None, {}),
        "plain": (("ask", SEED_QUESTION, "--backend", "extractive"), None, {}),
        "chat": (("chat", "--backend", "extractive"), f"{SEED_QUESTION}\n{FOLLOW_UP}\n", {}),
        "dead": (("ask", SEED_QUESTION, "--backend", "openai"), None, {"OPENAI_BASE_URL": DEAD_URL}),
        "empty-ask": (("ask", SEED_QUESTION, "--json"), None, {}),
        "empty-chat": (("chat",), f"{SEED_QUESTION}\n", {}),
    }
    started: dict[str, Run] = {}
    for name, (args, stdin, env) in jobs.items():
        home = index.folder / f"home-{name}"
        if not name.startswith("empty"):
            report = QA(Settings(home=home, collection=index.collection), embedder=embedder).ingest([index.seed])
            assert report.added, report.summary()
        started[name] = launch(index, name, args, stdin, env)
    yield started
    stop(started)


def launch(index: Index, name: str, args: tuple[str, ...], stdin: str | None, env: dict[str, str]) -> Run:
    """`qa ARGS` on the index in `home-NAME`, reading `stdin` as what the user types (its end is EOF)."""
    home = index.folder / f"home-{name}"
    typed = index.folder / f"stdin-{name}.txt"
    typed.write_text(stdin or "", encoding="utf-8")
    with typed.open("rb") as keyboard:
        process = subprocess.Popen(
            command(*args, "--home", home, "--collection", index.collection),
            cwd=index.folder,
            env=child_env(**env),
            stdin=keyboard,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    return Run(process, home)


def stop(started: dict[str, Run]) -> None:
    for run in started.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.communicate()


def open_index(run: Run, index: Index, embedder: Embedder) -> QA:
    return QA(Settings(home=run.home, collection=index.collection), embedder=embedder)


def shown_citations(output: str) -> list[tuple[int, str, int, int, str]]:
    """The citation blocks of the plain output (a "[n] source, chars a-b: "quote"" line and its indented
    continuation lines), unwrapped: (n, source, start, end, quote with whitespace runs as single spaces)."""
    blocks: list[str] = []
    for line in output.splitlines():
        if re.match(r"^\[\d+\] \S.*, chars \d+-\d+:", line):  # not a wrapped answer line starting "[1]."
            blocks.append(line)
        elif blocks and line.startswith("    ") and not blocks[-1].endswith('"'):
            blocks[-1] += " " + line.strip()
    found = []
    for block in blocks:
        match = SHOWN.match(block)
        assert match, block
        n, source, start, end, quote = match.groups()
        found.append((int(n), source, int(start), int(end), quote))
    return found


def assert_shown_quotes_verbatim(output: str, index: Index) -> list[str]:
    """Each citation printed quotes the file at its offsets; returns the quotes."""
    citations = shown_citations(output)
    assert citations, output
    for _, source, start, end, quote in citations:
        assert source.endswith(SEED.name)
        assert " ".join(index.text[start:end].split()) == quote
    return [quote for *_, quote in citations]


def test_ask_json_prints_one_grounded_answer(runs: dict[str, Run], index: Index, embedder: Embedder) -> None:
    result = runs["json"].result()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    answer = json.loads(result.stdout)
    assert {"question", "answer", "refused", "backend", "model", "citations", "latency_ms"} <= set(answer)
    assert answer["question"] == SEED_QUESTION
    assert (answer["refused"], answer["backend"], answer["model"]) == (False, "extractive", None)
    assert isinstance(answer["latency_ms"], float) and answer["latency_ms"] > 0
    assert answer["citations"]
    for c in answer["citations"]:
        assert {"n", "doc_id", "source", "start", "end", "quote"} <= set(c)
        assert index.text[c["start"] : c["end"]] == c["quote"]  # the file's own text
        assert c["source"] == str(index.seed)
    assert YEVKUROV in [c["quote"] for c in answer["citations"]]
    assert_grounded(open_index(runs["json"], index, embedder), answer)


def test_ask_prints_the_answer_its_quotes_and_who_answered(runs: dict[str, Run], index: Index) -> None:
    result = runs["plain"].result()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "[1]" in result.stdout
    assert len(FOOTER.findall(result.stdout)) == 1, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("(backend: extractive | model: - | ")
    assert YEVKUROV in assert_shown_quotes_verbatim(result.stdout, index)


def test_chat_answers_a_question_and_its_follow_up(runs: dict[str, Run], index: Index) -> None:
    result = runs["chat"].result()
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    footers = FOOTER.findall(result.stdout)
    assert len(footers) == 2, result.stdout  # two answers, then EOF ended the chat
    first, second = re.split(r"\(backend: extractive[^\n]*\n", result.stdout, maxsplit=1)
    assert YEVKUROV in assert_shown_quotes_verbatim(first, index)
    assert YEVKUROV in assert_shown_quotes_verbatim(second, index)  # "his job title": the Deputy Defence Minister
    assert "The documents don't say" not in result.stdout


def test_ask_with_a_dead_endpoint_is_one_error_line(runs: dict[str, Run]) -> None:
    result = runs["dead"].result()
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and DEAD_URL in lines[0] and "OPENAI_BASE_URL" in lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("name", ["empty-ask", "empty-chat"])
def test_an_empty_index_says_what_to_do_with_exit_code_3(runs: dict[str, Run], index: Index, name: str) -> None:
    result = runs[name].result()
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stderr == (
        f"error: the index holds no documents (home {runs[name].home}, collection {index.collection!r}); "
        "add some with `qa ingest <folder>`\n"
    )
    assert result.stdout == ""  # no answer, no refusal, and the chat never prompted


# --- within chosen documents: --doc and --not-doc -----------------------------------------------------------

BAKED = "At what temperature is the loaf baked?"


@pytest.fixture(scope="module")
def within(index: Index, embedder: Embedder) -> Iterator[dict[str, Run]]:
    """Runs limited to some documents, each on its own index of the seed article and a Markdown page."""
    page = write(index.folder / "more" / "kitchen" / "sourdough.md", MARKDOWN_DOC)
    jobs: dict[str, tuple[tuple[str, ...], str | None]] = {
        "doc": (("ask", BAKED, "--doc", "kitchen/*.md", "--json", "--backend", "extractive"), None),
        "not-doc": (("ask", SEED_QUESTION, "--not-doc", "*.txt", "--json", "--backend", "extractive"), None),
        "chat-doc": (("chat", "--doc", "*.md", "--backend", "extractive"), f"{SEED_QUESTION}\n"),
        "no-match": (("chat", "--doc", "handbook/*.md"), f"{SEED_QUESTION}\n"),
    }
    started: dict[str, Run] = {}
    for name, (args, stdin) in jobs.items():
        settings = Settings(home=index.folder / f"home-{name}", collection=index.collection)
        assert QA(settings, embedder=embedder).ingest([index.seed, page]).ok
        started[name] = launch(index, name, args, stdin, {})
    yield started
    stop(started)


def test_ask_with_doc_quotes_only_the_chosen_documents(within: dict[str, Run], index: Index) -> None:
    result = within["doc"].result()
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert not answer["refused"] and answer["citations"], answer
    assert {Path(c["source"]).name for c in answer["citations"]} == {"sourdough.md"}


def test_ask_with_not_doc_never_quotes_the_left_out_documents(within: dict[str, Run]) -> None:
    result = within["not-doc"].result()
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["refused"] and answer["citations"] == []  # only the seed article says who trains them


def test_chat_with_doc_keeps_every_turn_within_the_choice(within: dict[str, Run]) -> None:
    result = within["chat-doc"].result()
    assert result.returncode == 0, result.stderr
    assert "The documents don't say." in result.stdout and "Yevkurov" not in result.stdout
    assert len(FOOTER.findall(result.stdout)) == 1


def test_a_doc_that_matches_nothing_is_one_error_line_before_the_chat(within: dict[str, Run]) -> None:
    result = within["no-match"].result()
    assert result.returncode == 2, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert line.startswith("error: no document in the index matches 'handbook/*.md': ") and "`qa docs`" in line
    assert result.stdout == ""  # said before the first prompt
