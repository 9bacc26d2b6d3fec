"""What a user sees when the LLM endpoint fails or the input is hostile, through the three ways in: the Python
API (`QA.ask`), the CLI (`qa ask`) and a real `qa serve` process on loopback (`/v1/ask`, streamed and not, and the
OpenAI-compatible `/v1/chat/completions`).

The endpoint is the scripted server of tests/fake_openai.py, playing one fault per question: a dropped connection,
429s, 500s, a hang, a slow drip of tokens, a stream cut off before the model's finish reason, a chunked body cut
mid-chunk, a malformed body, and error bodies that repeat the API key. The promise under every fault: one clear
error naming the endpoint (a 5xx JSON error over HTTP, one `error:` line and exit code 2 on the CLI), never a
partial or made-up answer shown as checked, never the key, and never longer than QA_TIMEOUT. QA_TIMEOUT is one
second here, so the whole file runs in seconds. README's table "What the service guarantees under each fault"
is this file in prose.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from subprocess import PIPE

import httpx
import pytest

from qa import QA, BackendError, ConfigError, Settings
from qa.cli import main as cli
from qa.errors import BackendTimeoutError, InputError
from qa.evaluation.runner import evaluate
from qa.index.embedders import Embedder
from qa.records import Answer
from tests import fake_openai
from tests.conftest import SEED, SEED_QUESTION
from tests.fake_openai import FakeOpenAI, assert_grounded
from tests.processes import free_port, log_tail, server_process, sse

pytestmark = pytest.mark.slow  # starts `qa serve` and a `qa ask` process; about 30 s in all
TIMEOUT = 1.0  # QA_TIMEOUT of every pipeline here: the longest any answer may take
KEY = "sk-fault-suite-7d1e0c9a44"  # distinctive, so that a leak anywhere would show
ANSWER = "Yunus-bek Yevkurov oversees the training of the North Korean troops [1]."
LONG = " ".join([ANSWER] * 4)  # 48 words: 16 deltas, which a drip of one per 0.2 s takes over 3 s to send
LIMIT = Settings().max_question_chars


def error_of(response: httpx.Response, status: int, kind: str) -> str:
    """The message of a JSON error of the service's one shape, checked to have that status and type."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == kind, body
    return str(body["error"]["message"])


def raw_request(url: str, data: bytes) -> httpx.Response:
    """Send `data` as it is (a URL of any length, or no HTTP at all: httpx would refuse both) and read the
    response."""
    with socket.create_connection((httpx.URL(url).host, httpx.URL(url).port or 80), timeout=30) as sock:
        sock.sendall(data)
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())


# --- the faults, and what each one must look like to a user ----------------------------------------------------


@dataclass(frozen=True)
class Fault:
    play: Callable[[FakeOpenAI], None]  # queue the fault on the fake endpoint, for the next question
    says: str  # in the message the user reads
    status: int = 502  # what `qa serve` answers
    kind: str = "backend_error"

    @property
    def timeout(self) -> bool:
        return self.status == 504


def _replying(text: str, then: Callable[[FakeOpenAI], None]) -> Callable[[FakeOpenAI], None]:
    def play(fake: FakeOpenAI) -> None:
        fake.reply(text)
        then(fake)

    return play


FAULTS = {
    # a connection dropped unanswered (three of them: the try and both retries)
    "refuse": Fault(lambda f: f.fault_next("refuse", times=3), "cannot reach the LLM endpoint"),
    "429": Fault(lambda f: f.fail_next(429, times=3), "is rate-limiting requests (HTTP 429)"),
    "500": Fault(lambda f: f.fail_next(500, times=3), "failed with HTTP 500"),
    "hang": Fault(lambda f: f.fault_next("hang"), "did not answer within 1 s (QA_TIMEOUT", 504, "backend_timeout"),
    "drip": Fault(
        _replying(LONG, lambda f: f.fault_next("drip", every=0.2)),
        "did not finish its answer within 1 s (QA_TIMEOUT",
        504,
        "backend_timeout",
    ),
    "cut": Fault(_replying(LONG, lambda f: f.fault_next("cut")), "stopped mid-answer"),
    "cut-chunked": Fault(_replying(LONG, lambda f: f.fault_next("cut-chunked")), "broke off its answer"),
    "malformed": Fault(lambda f: f.malform_next("not-json"), "sent a response qa cannot read"),
    "echo-key-401": Fault(lambda f: f.fault_next("echo-key", status=401), "rejected the API key"),
    "echo-key-500": Fault(lambda f: f.fault_next("echo-key", status=500, times=3), "failed with HTTP 500"),
}

PARTIAL = ["drip", "cut", "cut-chunked"]  # the faults after which some of the model's text has come


# --- the rig: one fake endpoint, one index, one `qa serve` over it ------------------------------------------------


@dataclass
class Rig:
    fake: FakeOpenAI
    settings: Settings  # the in-process pipelines' (Python API and CLI)
    qa: QA
    url: str  # the `qa serve` process
    log: Path  # its output
    http: httpx.Client

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        where = ("--home", str(self.settings.home), "--collection", self.settings.collection)
        code = cli([*args, *where])
        out, err = capsys.readouterr()
        return code, out, err


def seeded(folder: Path, collection: str, embedder: Embedder) -> Path:
    """A home holding the seed article; returns the home."""
    home = folder / f"home-{uuid.uuid4().hex[:8]}"
    assert QA(Settings(home=home, collection=collection), embedder=embedder).ingest([SEED]).added
    return home


def child_env(**extra: str) -> dict[str, str]:
    """The test environment without any QA_*/OPENAI_* setting a developer may have exported, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Rig]:
    folder = tmp_path_factory.mktemp("faults")
    collection = "faults-" + uuid.uuid4().hex[:8]
    with fake_openai.serve() as fake:
        settings = Settings(
            home=seeded(folder, collection, embedder),
            collection=collection,
            backend="openai",
            openai_base_url=fake.url,
            openai_api_key=KEY,
            llm_model="fake-model",
            timeout=TIMEOUT,
        )
        port, log = free_port(), folder / "serve.log"
        env = child_env(
            QA_HOME=str(seeded(folder, collection, embedder)),
            QA_COLLECTION=collection,
            QA_BACKEND="openai",
            QA_LLM_MODEL="fake-model",
            QA_TIMEOUT=str(TIMEOUT),
            OPENAI_BASE_URL=fake.url,
            OPENAI_API_KEY=KEY,
        )
        command = [sys.executable, "-m", "qa", "serve", "--port", str(port)]
        url = f"http://127.0.0.1:{port}"
        with (
            server_process("qa serve", command, f"{url}/healthz", log, seconds=60, env=env, cwd=folder),
            httpx.Client(base_url=url, timeout=30) as http,
        ):
            yield Rig(fake, settings, QA(settings, embedder=embedder), url, log, http)


@pytest.fixture
def fake(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> FakeOpenAI:
    """The rig's endpoint with nothing queued, and the environment the in-process CLI reads."""
    with rig.fake.lock:
        for queued in (rig.fake.failures, rig.fake.faults, rig.fake.replies, rig.fake.malformed):
            queued.clear()
    for name in [n for n in os.environ if n.startswith(("QA_", "OPENAI_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("OPENAI_BASE_URL", rig.fake.url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("QA_LLM_MODEL", "fake-model")
    monkeypatch.setenv("QA_TIMEOUT", str(TIMEOUT))
    return rig.fake


def assert_backend_error(message: str, fault: Fault, rig: Rig) -> None:
    assert fault.says in message and rig.fake.url in message, message
    assert KEY not in message


# --- the rig answers when nothing fails (so that every failure below is the fault's doing) -------------------------


def test_without_a_fault_every_way_in_answers(rig: Rig, fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    fake.reply(ANSWER, times=3)
    answer = rig.qa.ask(SEED_QUESTION)
    assert not answer.refused and "Yevkurov" in answer.text
    assert_grounded(rig.qa, answer)
    code, out, err = rig.cli(capsys, "ask", SEED_QUESTION, "--backend", "openai", "--json")
    assert code == 0 and not json.loads(out)["refused"], err
    served = rig.http.post("/v1/ask", json={"question": SEED_QUESTION})
    assert served.status_code == 200 and not served.json()["refused"], served.text
    assert served.json()["backend"] == "openai" and served.json()["model"] == "fake-model"


# --- each fault, each way in ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FAULTS)
def test_python_api_raises_one_backend_error(rig: Rig, fake: FakeOpenAI, name: str) -> None:
    fault = FAULTS[name]
    fault.play(fake)
    with pytest.raises(BackendError) as caught:
        rig.qa.ask(SEED_QUESTION)
    assert isinstance(caught.value, BackendTimeoutError) == fault.timeout
    assert_backend_error(str(caught.value), fault, rig)


@pytest.mark.parametrize("name", PARTIAL)
def test_python_api_stream_never_ends_in_an_answer(rig: Rig, fake: FakeOpenAI, name: str) -> None:
    """`ask_stream` may have passed on some of the model's text; it then raises instead of giving an Answer."""
    FAULTS[name].play(fake)
    events: list[str | Answer] = []
    with pytest.raises(BackendError):
        events.extend(rig.qa.ask_stream(SEED_QUESTION))
    assert not any(isinstance(event, Answer) for event in events)


@pytest.mark.parametrize("name", FAULTS)
def test_cli_prints_one_error_line(rig: Rig, fake: FakeOpenAI, capsys: pytest.CaptureFixture[str], name: str) -> None:
    fault = FAULTS[name]
    fault.play(fake)
    code, out, err = rig.cli(capsys, "ask", SEED_QUESTION, "--backend", "openai")
    assert (code, out) == (2, ""), (out, err)
    [line] = err.strip().splitlines()
    assert line.startswith("error: ")
    assert_backend_error(line, fault, rig)


@pytest.mark.parametrize("name", FAULTS)
def test_serve_answers_with_a_json_error(rig: Rig, fake: FakeOpenAI, name: str) -> None:
    fault = FAULTS[name]
    fault.play(fake)
    message = error_of(rig.http.post("/v1/ask", json={"question": SEED_QUESTION}), fault.status, fault.kind)
    assert_backend_error(message, fault, rig)


@pytest.mark.parametrize("name", [*PARTIAL, "500"])
def test_serve_openai_route_never_finishes_a_failed_answer(rig: Rig, fake: FakeOpenAI, name: str) -> None:
    """The OpenAI-compatible route checks the answer before it sends anything: a fault is an error status, never
    a completion with finish_reason "stop", streamed or not. (Its errors are /v1/ask's, tested for every fault
    above; here, the faults that leave half an answer behind.)"""
    fault = FAULTS[name]
    for stream in (False, True):
        fault.play(fake)
        body = {"messages": [{"role": "user", "content": SEED_QUESTION}], "stream": stream}
        response = rig.http.post("/v1/chat/completions", json=body)
        assert_backend_error(error_of(response, fault.status, fault.kind), fault, rig)
        assert "finish_reason" not in response.text


@pytest.mark.parametrize("name", PARTIAL)
def test_serve_stream_ends_in_an_error_event_after_partial_text(rig: Rig, fake: FakeOpenAI, name: str) -> None:
    """Streamed from `/v1/ask`, the model's first words arrive as `delta`s; the stream then ends with an `error`
    event, and no `answer` event ever vouches for the half answer."""
    fault = FAULTS[name]
    fault.play(fake)
    response = rig.http.post("/v1/ask", json={"question": SEED_QUESTION, "stream": True})
    assert response.status_code == 200, response.text
    events = sse(response.text)
    kinds = [kind for kind, _ in events]
    assert "delta" in kinds and "answer" not in kinds and kinds[-1] == "error", kinds
    error = events[-1][1]["error"]
    assert error["type"] == fault.kind
    assert_backend_error(error["message"], fault, rig)
    partial = "".join(data["text"] for kind, data in events if kind == "delta")
    assert partial and LONG.startswith(partial) and partial != LONG


def test_a_follow_up_shares_one_deadline_between_its_rewrite_and_its_answer(rig: Rig, fake: FakeOpenAI) -> None:
    """With history the model is asked twice (rewrite the follow-up, then answer): QA_TIMEOUT bounds both
    together. The rewrite drips for 0.75 s and the answer for 0.9 s: each under the limit, not both."""
    fake.reply("Who oversees the training of the North Korean troops?")  # 3 deltas: 6 events, 5 gaps
    fake.fault_next("drip", every=0.15)
    fake.reply(ANSWER)  # 4 deltas: 7 events, 6 gaps
    fake.fault_next("drip", every=0.15)
    before = len(fake.chats)
    history = [{"role": "user", "content": "Where are they?"}, {"role": "assistant", "content": "In Kursk."}]
    with pytest.raises(BackendTimeoutError) as caught:
        rig.qa.ask("Who oversees their training?", history)
    assert "within 1 s (QA_TIMEOUT, retries included)" in str(caught.value)
    assert len(fake.chats) == before + 2
    fake.reply(ANSWER)  # a new question gets a new deadline
    assert not rig.qa.ask(SEED_QUESTION).refused


# --- the key stays out of every error path --------------------------------------------------------------------------


def test_eval_reports_never_show_the_key(rig: Rig, fake: FakeOpenAI, tmp_path: Path, embedder: Embedder) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text((Path(__file__).parents[1] / "eval" / "seed.jsonl").read_text().splitlines()[0] + "\n")
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copyfile(SEED, docs / SEED.name)
    fake.fault_next("echo-key", status=500, times=3)
    settings = replace(rig.settings, home=tmp_path / "home")
    summary = evaluate(questions, docs, backend="openai", out=tmp_path / "run", settings=settings, embedder=embedder)
    [result] = summary.results
    assert result.error and "failed with HTTP 500" in result.error and "[redacted]" in result.error
    written = [path for path in (tmp_path / "run").iterdir() if path.suffix in (".md", ".json", ".jsonl")]
    assert {path.name for path in written} >= {"results.jsonl", "summary.json", "report.md"}
    for path in written:
        assert KEY not in path.read_text(encoding="utf-8"), path


def test_the_server_log_never_shows_the_key(rig: Rig, fake: FakeOpenAI) -> None:
    """Neither an endpoint error that repeats the key nor a client that sends its key in the URL puts the key in
    `qa serve`'s output (its access log included)."""
    fake.fault_next("echo-key", status=500, times=3)
    assert "[redacted]" in error_of(rig.http.post("/v1/ask", json={"question": SEED_QUESTION}), 502, "backend_error")
    assert rig.http.get("/v1/documents", params={"api_key": KEY}).status_code == 200
    fake.fault_next("echo-key", status=500, times=3)
    streamed = rig.http.post("/v1/ask", json={"question": SEED_QUESTION, "stream": True})
    assert KEY not in streamed.text
    log = rig.log.read_text(errors="replace")
    assert "GET /v1/documents?api_key=*** HTTP/1.1" in log, log_tail(rig.log)  # the request was logged ...
    assert KEY not in log  # ... and nothing anywhere shows the key


# --- hostile input -------------------------------------------------------------------------------------------------


def test_an_overlong_or_broken_question_is_refused_before_any_work(
    rig: Rig, fake: FakeOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    asked = len(fake.chats)
    long, broken = "why " * (LIMIT // 4 + 1), "who oversees \ud800 the training?"
    cases = (
        (long, f"the limit is {LIMIT:,} (QA_MAX_QUESTION_CHARS)", f"the limit is {LIMIT:,}"),
        (broken, "lone surrogate (U+D800)", 'argument 2 is not valid UTF-8 (U+D800 in "who oversees \\ud800'),
    )
    for text, says, cli_says in cases:
        for call in (rig.qa.ask, rig.qa.search, lambda t: list(rig.qa.ask_stream(t))):
            with pytest.raises(InputError, match=r"(question|query) is") as caught:
                call(text)
            assert says in str(caught.value)
        with pytest.raises(InputError, match=r"user turn of the history"):
            rig.qa.ask(SEED_QUESTION, [{"role": "user", "content": text}])
        code, out, err = rig.cli(capsys, "ask", text, "--backend", "openai")
        assert (code, out) == (2, "") and err.count("\n") == 1 and cli_says in err, err
    at_limit = (SEED_QUESTION + " ") * (LIMIT // len(SEED_QUESTION))
    assert rig.qa.search(at_limit[:LIMIT], k=1)  # at the limit: searched
    assert len(fake.chats) == asked  # nothing reached the model


def test_serve_gives_json_errors_for_hostile_http_input(rig: Rig, fake: FakeOpenAI) -> None:
    post, asked = rig.http.post, len(fake.chats)
    long = "why " * (LIMIT // 4 + 1)
    chat = {"messages": [{"role": "user", "content": long}]}
    for response in (post("/v1/ask", json={"question": long}), post("/v1/chat/completions", json=chat)):
        assert f"the limit is {LIMIT:,}" in error_of(response, 400, "bad_request")
    assert "query is" in error_of(post("/v1/search", json={"query": long}), 400, "bad_request")

    surrogate = {"Content-Type": "application/json"}  # raw bytes: httpx would not encode a lone surrogate
    for path, body in (
        ("/v1/ask", b'{"question": "who \\ud800 oversees?"}'),
        ("/v1/ask", b'{"question": "who?", "history": [{"role": "assistant", "content": "\\udfff"}]}'),
        ("/v1/search", b'{"query": "\\ud800"}'),
        ("/v1/chat/completions", b'{"messages": [{"role": "user", "content": "\\ud800"}]}'),
    ):
        assert "lone surrogate" in error_of(post(path, content=body, headers=surrogate), 400, "bad_request")

    garbage = raw_request(rig.url, b"NOT HTTP AT ALL\r\n\r\n")  # what no HTTP parser reads: still our shape
    assert "invalid HTTP request" in error_of(garbage, 400, "bad_request")
    huge = raw_request(rig.url, b"DELETE /v1/documents/" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    kind = {400: "bad_request", 404: "not_found"}.get(huge.status_code, "?")  # over httptools' limit; h11 reads it
    assert "100,000 characters" in error_of(huge, huge.status_code, kind) or huge.status_code == 400
    long_id = rig.http.delete("/v1/documents/" + "b" * 10_000)  # parsed: not found, quoted only in part
    message = error_of(long_id, 404, "not_found")
    assert "(10,000 characters)" in message and len(message) < 300
    assert len(fake.chats) == asked  # nothing reached the model
    assert "Traceback" not in rig.log.read_text(errors="replace")


def test_nothing_configured_says_so_and_sends_nothing(
    rig: Rig, fake: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.delenv("OPENAI_API_KEY")
    sent = len(fake.requests)
    code, out, err = rig.cli(capsys, "ask", SEED_QUESTION, "--backend", "openai")
    assert (code, out) == (2, ""), err
    assert "the openai backend has no endpoint or key configured: set OPENAI_BASE_URL" in err
    assert "OPENAI_API_KEY" in err and "cannot reach" not in err
    bare = replace(rig.settings, openai_base_url=None, openai_api_key=None)
    with pytest.raises(ConfigError, match="no endpoint or key configured"):
        QA(bare, embedder=rig.qa.embedder).ask(SEED_QUESTION)
    from qa.server.service import backend_check

    check = backend_check(bare)
    assert not check["ok"] and "no endpoint or key configured" in check["detail"]
    assert len(fake.requests) == sent


# --- real `qa` processes: what a terminal shows ------------------------------------------------------------------


def test_a_non_utf8_argument_is_one_error_line(tmp_path: Path) -> None:
    args: list[str | bytes] = [sys.executable, "-m", "qa", "ask", b"caf\xe9 au lait?", "--home", str(tmp_path)]
    done = subprocess.run(args, env=child_env(), capture_output=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == b"", done.stderr
    assert done.stderr.decode() == (
        'error: argument 2 is not valid UTF-8 (byte 0xe9 in "caf\\xe9 au lait?"); qa reads its arguments as UTF-8\n'
    )
    assert not (tmp_path / "chroma").exists()  # said before anything was opened


@pytest.fixture(scope="module", autouse=True)
def real_ask(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[subprocess.Popen[str]]:
    """A real `qa ask` process against an endpoint whose errors repeat the key, started with the module so that
    its few seconds of start-up overlap the other tests; it has an endpoint and an index of its own."""
    folder = tmp_path_factory.mktemp("real-ask")
    collection = "real-ask-" + uuid.uuid4().hex[:8]
    home = seeded(folder, collection, embedder)
    with fake_openai.serve() as leaky:
        leaky.fault_next("echo-key", status=500, times=3)
        env = child_env(QA_TIMEOUT=str(TIMEOUT), OPENAI_BASE_URL=leaky.url, OPENAI_API_KEY=KEY)
        args = ["ask", SEED_QUESTION, "--backend", "openai", "--home", str(home), "--collection", collection]
        with subprocess.Popen(
            [sys.executable, "-m", "qa", *args], env=env, cwd=folder, text=True, stdout=PIPE, stderr=PIPE
        ) as process:
            yield process
            if process.poll() is None:
                process.kill()
            process.communicate()


def test_a_real_qa_ask_never_prints_the_key(real_ask: subprocess.Popen[str]) -> None:
    stdout, stderr = real_ask.communicate(timeout=120)
    done = subprocess.CompletedProcess(real_ask.args, real_ask.returncode, stdout, stderr)
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert done.stderr.startswith("error: the LLM endpoint") and done.stderr.count("\n") == 1, done.stderr
    assert "[redacted]" in done.stderr and KEY not in done.stderr
