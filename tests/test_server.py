"""The HTTP service, tested as a client sees it: a real uvicorn server on loopback over a real pipeline (the seed
article ingested), driven with httpx and with the `openai` client; LLM failures come from the fake OpenAI server.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from qa import QA
from qa.cli import main as cli
from qa.errors import BackendError
from qa.index.embedders import Embedder
from qa.ingest.pipeline import doc_id_for
from qa.llm.base import Message
from qa.llm.openai import OpenAIGenerator
from qa.records import IngestReport
from qa.server.app import AnswerOut, ReportOut, create_app, running
from tests import fake_openai
from tests.conftest import MARKDOWN_DOC, SEED, SEED_QUESTION, CrashingEmbedder, MakeQA, MakeSettings, write
from tests.fake_openai import assert_grounded
from tests.processes import sse

pytestmark = pytest.mark.embedded_only  # most tests here; the concurrency test runs on a Chroma server too

UPLOAD_MB = 0.25
BAKED = "At what temperature is the loaf baked?"
KEY = "test-key-0f9b3c"  # distinctive, so a leak into any log line would show
QUESTIONS = [
    row["question"]
    for row in map(json.loads, (Path(__file__).parents[1] / "eval" / "seed.jsonl").read_text().splitlines())
    if row["answerable"]
][:20]


@dataclass
class Live:
    url: str
    http: httpx.Client
    qa: QA


@contextmanager
def live(qa: QA, log_level: str = "warning", **options: Any) -> Iterator[Live]:
    """A real server for `qa` on a free loopback port, and an httpx client for it."""
    app = create_app(qa, **options)
    with running(app, log_level=log_level) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield Live(url, http, qa)


def seeded(qa: QA) -> QA:
    assert qa.ingest([SEED]).ok
    return qa


@pytest.fixture
def server(make_qa: MakeQA) -> Iterator[Live]:
    """The server over the seed article, extractive backend, no key, a small upload limit."""
    with live(seeded(make_qa(backend="extractive")), max_upload_mb=UPLOAD_MB) as running_server:
        yield running_server


@pytest.fixture
def fake() -> Iterator[fake_openai.FakeOpenAI]:
    with fake_openai.serve() as state:
        yield state


def llm_qa(make_settings: MakeSettings, embedder: Embedder, fake: fake_openai.FakeOpenAI, timeout: float = 0.5) -> QA:
    """The seed article answered by the `openai` backend at the fake server, without retries."""
    settings = make_settings(backend="openai", openai_base_url=fake.url, timeout=timeout)
    generator = OpenAIGenerator("fake-model", fake.url, None, timeout=timeout, retries=0)
    return seeded(QA(settings, embedder=embedder, generator=generator))


def error_of(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    assert body["error"]["type"] == kind, body
    return str(body["error"]["message"])


def without_latency(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key not in ("latency_ms", "answer_id")}


# --- REST ---------------------------------------------------------------------------------------------


def test_ask_returns_what_qa_ask_json_prints(server: Live, capsys: pytest.CaptureFixture[str]) -> None:
    response = server.http.post("/v1/ask", json={"question": SEED_QUESTION})
    assert response.status_code == 200, response.text
    answer = response.json()
    settings = server.qa.settings
    assert cli(["ask", SEED_QUESTION, "--json", "--home", str(settings.home), "--collection", settings.collection,
                "--backend", "extractive"]) == 0  # fmt: skip
    printed = json.loads(capsys.readouterr().out)
    assert json.dumps(without_latency(answer)) == json.dumps(without_latency(printed))  # keys in order too
    assert not answer["refused"] and answer["citations"] and "Yevkurov" in answer["answer"]
    assert_grounded(server.qa, answer)


def test_ask_streams_deltas_then_one_answer(server: Live) -> None:
    body = {"question": SEED_QUESTION, "stream": True}
    with server.http.stream("POST", "/v1/ask", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response.read().decode())
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "answer" and kinds.count("answer") == 1 and set(kinds[:-1]) == {"delta"}, kinds
    answer = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == answer["answer"]  # extractive: the text as is
    plain = server.http.post("/v1/ask", json={"question": SEED_QUESTION}).json()
    assert without_latency(answer) == without_latency(plain)
    assert_grounded(server.qa, answer)


class DyingGenerator:
    """An LLM that writes a few words, then its endpoint fails."""

    name = "openai"
    model = "dying"

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        yield "Yevkurov oversees "
        raise BackendError("the LLM endpoint http://127.0.0.1:9/v1 failed with HTTP 500 after retries")


def test_a_backend_failure_mid_stream_is_an_error_event(make_settings: MakeSettings, embedder: Embedder) -> None:
    qa = seeded(QA(make_settings(backend="openai"), embedder=embedder, generator=DyingGenerator()))
    with live(qa) as server:
        response = server.http.post("/v1/ask", json={"question": SEED_QUESTION, "stream": True})
    assert response.status_code == 200
    events = sse(response.text)
    assert events[0] == ("delta", {"text": "Yevkurov oversees "})
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "backend_error", events
    assert "HTTP 500" in events[-1][1]["error"]["message"]


def test_search_returns_passages_at_their_offsets(server: Live) -> None:
    response = server.http.post("/v1/search", json={"query": "who oversees training?", "k": 3, "mode": "hybrid"})
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["query"] == "who oversees training?" and 1 <= len(found["hits"]) <= 3
    expected = [hit.to_dict() for hit in server.qa.search("who oversees training?", 3)]
    assert json.dumps(found["hits"]) == json.dumps(expected)  # as `qa search --json` prints them, keys in order
    for hit in found["hits"]:
        assert server.qa.document(hit["doc_id"]).text[hit["start"] : hit["end"]] == hit["text"]


def test_ask_search_and_chat_within_chosen_documents(server: Live, tmp_path: Path) -> None:
    page = write(tmp_path / "kitchen" / "sourdough.md", MARKDOWN_DOC)
    assert server.qa.ingest([page]).ok  # the server's listing of documents follows the index
    kitchen, seed = doc_id_for(page), doc_id_for(SEED)
    post = server.http.post

    def hits(**body: Any) -> set[str]:
        response = post("/v1/search", json={"query": SEED_QUESTION, "k": 3, **body})
        assert response.status_code == 200, response.text
        return {hit["doc_id"] for hit in response.json()["hits"]}

    assert seed in hits()  # unfiltered, the seed article answers best
    assert hits(docs=["kitchen/*.md"]) == {kitchen}
    assert hits(exclude_docs=[SEED.name]) == {kitchen}
    assert hits(docs=[seed, kitchen], exclude_docs=["*.txt"], mode="lexical") == set()  # no shared word left

    response = post("/v1/ask", json={"question": BAKED, "docs": ["*.md"]})
    assert response.status_code == 200, response.text
    within = response.json()
    assert not within["refused"] and {c["doc_id"] for c in within["citations"]} == {kitchen}, within
    assert post("/v1/ask", json={"question": SEED_QUESTION, "exclude_docs": ["*.txt"]}).json()["refused"]
    streamed = sse(post("/v1/ask", json={"question": BAKED, "docs": ["*.md"], "stream": True}).text)
    assert streamed[-1][0] == "answer" and {c["doc_id"] for c in streamed[-1][1]["citations"]} == {kitchen}
    chat = {"messages": [{"role": "user", "content": SEED_QUESTION}], "docs": ["kitchen/**"]}
    assert post("/v1/chat/completions", json=chat).json()["qa"]["refused"]  # the seed article is left out
    chat["docs"] = [SEED.name]
    assert {c["doc_id"] for c in post("/v1/chat/completions", json=chat).json()["qa"]["citations"]} == {seed}


def test_a_name_that_matches_no_document_is_a_404_naming_it(server: Live) -> None:
    asked = {"question": SEED_QUESTION, "docs": ["handbook/*.md"]}
    for path, body in (
        ("/v1/ask", asked),
        ("/v1/ask", {**asked, "stream": True}),  # said with a status, before the stream begins
        ("/v1/search", {"query": SEED_QUESTION, "exclude_docs": ["handbook/*.md"]}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": SEED_QUESTION}], "docs": ["handbook/*.md"]}),
    ):
        message = error_of(server.http.post(path, json=body), 404, "not_found")
        assert message.startswith("no document in the index matches 'handbook/*.md': "), message
        assert "GET /v1/documents" in message
    empty = error_of(server.http.post("/v1/search", json={"query": "x", "docs": []}), 422, "invalid_request")
    assert "docs" in empty  # an empty choice is a mistake; leave the field out to search every document


def test_documents_upload_list_and_delete(server: Live) -> None:
    (seed,) = server.http.get("/v1/documents").json()["documents"]
    assert seed["doc_id"] == server.qa.documents()[0].doc_id and seed["chunks"] > 0
    good = ("files", ("lighthouses.txt", b"The Fresnel lens let a lighthouse beam reach sailors far out at sea.\n"))
    bad = ("files", ("latin1.txt", "Caf\u00e9 au lait".encode("latin-1")))
    report = server.http.post("/v1/documents", files=[good, bad]).json()
    assert [Path(s).name for s in report["added"]] == ["lighthouses.txt"] and report["chunks_added"] == 1
    ((failed, reason),) = [(f["source"], f["reason"]) for f in report["failed"]]
    assert Path(failed).name == "latin1.txt" and "not valid UTF-8" in reason
    assert server.http.post("/v1/documents", files=[good]).json()["unchanged"] == report["added"]  # idempotent

    listed = {Path(d["source"]).name: d for d in server.http.get("/v1/documents").json()["documents"]}
    assert set(listed) == {SEED.name, "lighthouses.txt"}
    uploaded = Path(listed["lighthouses.txt"]["path"])
    assert uploaded.is_file() and uploaded.parent.name == server.qa.settings.collection
    assert not (uploaded.parent / "latin1.txt").exists()  # a file that failed is not kept
    answer = server.http.post("/v1/ask", json={"question": "What did the Fresnel lens let a lighthouse beam do?"})
    assert answer.json()["citations"][0]["source"] == listed["lighthouses.txt"]["source"]

    doc_id = listed["lighthouses.txt"]["doc_id"]
    removed = server.http.delete(f"/v1/documents/{doc_id}").json()
    assert removed["removed"] == report["added"] and removed["chunks_removed"] == 1
    assert not uploaded.exists()
    assert "no document" in error_of(server.http.delete(f"/v1/documents/{doc_id}"), 404, "not_found")
    assert [d.doc_id for d in server.qa.documents()] == [seed["doc_id"]]


def test_uploads_over_the_limit_are_413(server: Live) -> None:
    big = b"word " * int(UPLOAD_MB * 1024 * 1024 / 4)
    declared = server.http.post("/v1/documents", files=[("files", ("big.txt", big))])
    assert "limit of 0.25 MB" in error_of(declared, 413, "too_large")

    def chunked() -> Iterator[bytes]:  # no Content-Length: the limit holds while the body streams in
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n\r\n'
        yield from (big[i : i + 65536] for i in range(0, len(big), 65536))
        yield b"\r\n--b--\r\n"

    streamed = server.http.post(
        "/v1/documents", content=chunked(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert "Content-Length" not in streamed.request.headers
    error_of(streamed, 413, "too_large")
    assert len(server.qa.documents()) == 1


def test_health_and_readiness(server: Live, make_qa: MakeQA, fake: fake_openai.FakeOpenAI) -> None:
    assert server.http.get("/healthz").json() == {"status": "ok"}
    ready = server.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert set(ready.json()["checks"]) == {"store", "backend"}
    with live(make_qa(backend="openai", openai_base_url=fake.url)) as llm:
        checks = llm.http.get("/readyz").json()["checks"]
        assert checks["backend"]["ok"] and "/models answered" in checks["backend"]["detail"]
    with live(make_qa(backend="openai", openai_base_url="http://127.0.0.1:9/v1")) as dead:
        response = dead.http.get("/readyz")
        assert response.status_code == 503 and response.json()["checks"]["store"]["ok"]
        assert not response.json()["checks"]["backend"]["ok"]


# --- auth and errors ------------------------------------------------------------------------------------


def test_auth_with_a_key(make_qa: MakeQA, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with live(seeded(make_qa(backend="extractive")), log_level="debug", api_key=KEY) as server:
        get = server.http.get
        assert "no API key" in error_of(get("/v1/documents"), 401, "unauthorized")
        wrong = get("/v1/documents", headers={"Authorization": "Bearer not-the-key"})
        assert "wrong API key" in error_of(wrong, 401, "unauthorized") and wrong.headers["WWW-Authenticate"] == "Bearer"
        error_of(get("/openapi.json"), 401, "unauthorized")
        error_of(get("/v1/documents", params={"api_key": KEY}), 401, "unauthorized")  # a key in the URL is no key
        error_of(server.http.post("/v1/ask", json={"question": SEED_QUESTION}), 401, "unauthorized")
        assert get("/healthz").status_code == 200
        right = {"Authorization": f"Bearer {KEY}"}
        assert get("/v1/documents", headers=right).status_code == 200
        assert server.http.post("/v1/ask", json={"question": SEED_QUESTION}, headers=right).status_code == 200
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0).models.list()
        assert [m.id for m in openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY).models.list()] == ["qa"]
        schema = get("/openapi.json", headers=right).json()
        assert "HTTPBearer" in schema["components"]["securitySchemes"]
    served = [r for r in caplog.records if r.name != "httpx"]  # httpx logs this test's own requests as sent
    assert any(r.name == "uvicorn.access" for r in served)  # the access log was on ...
    assert not [r for r in served if KEY in r.getMessage()]  # ... and never shows the key,
    assert any("/v1/documents?api_key=*** " in r.getMessage() for r in served)  # not even sent in the URL


def test_errors_are_json_with_the_right_status(server: Live) -> None:
    post = server.http.post
    assert "question is empty" in error_of(post("/v1/ask", json={"question": "  "}), 400, "bad_request")
    assert "query is empty" in error_of(post("/v1/search", json={"query": ""}), 400, "bad_request")
    chat = {"messages": [{"role": "assistant", "content": "hello"}]}
    assert "last message" in error_of(post("/v1/chat/completions", json=chat), 400, "bad_request")
    assert "GET /nowhere" in error_of(server.http.get("/nowhere"), 404, "not_found")
    error_of(server.http.get("/v1/ask"), 405, "method_not_allowed")

    def invalid(body: dict[str, Any]) -> str:
        return error_of(post("/v1/ask", json=body), 422, "invalid_request")

    assert "question: Field required" in invalid({})
    assert "k: Input should be greater than or equal to 1" in invalid({"question": "x", "k": 0})
    assert "stram: Extra inputs are not permitted" in invalid({"question": "x", "stram": True})
    assert "history.0.role" in invalid({"question": "x", "history": [{"role": "system", "content": "y"}]})
    form = post("/v1/ask", content=b'{"question": "x"}', headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "Content-Type: application/json" in error_of(form, 422, "invalid_request")
    assert "mode" in error_of(post("/v1/search", json={"query": "x", "mode": "fuzzy"}), 422, "invalid_request")
    browser = server.http.get("/v1/documents", headers={"Origin": "https://elsewhere.example"})
    assert "cross-site" in error_of(browser, 403, "forbidden")
    same_site = server.http.get("/v1/documents", headers={"Origin": server.url})
    assert same_site.status_code == 200


def test_an_empty_index_is_a_409_that_says_what_to_do(make_qa: MakeQA) -> None:
    with live(make_qa(backend="extractive")) as server:
        post, where = server.http.post, server.qa.where()
        ask = post("/v1/ask", json={"question": SEED_QUESTION})
        streamed = post("/v1/ask", json={"question": SEED_QUESTION, "stream": True})
        search = post("/v1/search", json={"query": SEED_QUESTION})
        chat = post("/v1/chat/completions", json={"messages": [{"role": "user", "content": SEED_QUESTION}]})
        chat_streamed = post(
            "/v1/chat/completions", json={"messages": [{"role": "user", "content": SEED_QUESTION}], "stream": True}
        )
        for response in (ask, streamed, search, chat, chat_streamed):
            message = error_of(response, 409, "index_empty")
            assert message == (
                f"the index holds no documents ({where}); add some: POST /v1/documents with the files, "
                "or `qa ingest <folder>` on the server"
            )
        assert server.qa.settings.collection in where and str(server.qa.settings.home) in where
        assert server.http.get("/v1/documents").json() == {"documents": []}  # listing an empty index is fine
        assert server.http.post("/v1/documents", files=[("files", ("seed.txt", SEED.read_bytes()))]).json()["added"]
        answered = post("/v1/ask", json={"question": SEED_QUESTION})
        assert answered.status_code == 200 and not answered.json()["refused"]


def test_a_bug_is_a_json_500(make_qa: MakeQA, embedder: Embedder) -> None:
    crashing = CrashingEmbedder(embedder, fail_on=2)  # the ingest embeds once; the search's embed crashes
    with live(seeded(make_qa(backend="extractive", using=crashing))) as server:
        response = server.http.post("/v1/search", json={"query": "who oversees training?"})
    assert "RuntimeError" in error_of(response, 500, "internal_error")
    assert "simulated crash" not in response.text  # details stay in the server's log


def test_llm_failures_are_502_and_timeouts_504(
    make_settings: MakeSettings, embedder: Embedder, fake: fake_openai.FakeOpenAI
) -> None:
    with live(llm_qa(make_settings, embedder, fake)) as server:
        fake.fail_next(500)
        failed = server.http.post("/v1/ask", json={"question": SEED_QUESTION})
        assert "HTTP 500" in error_of(failed, 502, "backend_error")
        fake.fail_next(500)
        streamed = server.http.post("/v1/ask", json={"question": SEED_QUESTION, "stream": True})
        error_of(streamed, 502, "backend_error")  # failed before the first event: still an HTTP status
        fake.fail_next(200, delay=1.5)
        slow = server.http.post("/v1/ask", json={"question": SEED_QUESTION})
        assert "did not answer within 0.5 s" in error_of(slow, 504, "backend_timeout")
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        messages: Any = [{"role": "user", "content": SEED_QUESTION}]
        for status, delay in ((500, 0.0), (200, 1.5)):
            fake.fail_next(status, delay=delay)
            with pytest.raises(openai.APIStatusError) as caught:
                client.chat.completions.create(model="qa", messages=messages)
            assert caught.value.status_code == (502 if status == 500 else 504)
        fake.reply("Yevkurov oversees the training [1].")
        answer = server.http.post("/v1/ask", json={"question": SEED_QUESTION}).json()
        assert answer["backend"] == "openai" and answer["model"] == "fake-model" and not answer["refused"]
        assert_grounded(server.qa, answer)


def test_answering_does_not_block_the_event_loop(
    make_settings: MakeSettings, embedder: Embedder, fake: fake_openai.FakeOpenAI
) -> None:
    with live(llm_qa(make_settings, embedder, fake, timeout=5)) as server:
        fake.fail_next(200, delay=1.0)  # the model takes a second to start answering
        body = {"question": SEED_QUESTION}
        slow = threading.Thread(target=server.http.post, args=("/v1/ask",), kwargs={"json": body})
        slow.start()
        deadline = time.monotonic() + 10
        while not fake.chats and time.monotonic() < deadline:  # the request is waiting for the model
            time.sleep(0.01)
        assert fake.chats
        started = time.perf_counter()
        assert server.http.get("/healthz").status_code == 200
        assert server.http.get("/v1/models").status_code == 200
        assert time.perf_counter() - started < 0.5  # not after the model's second
        slow.join()


@pytest.mark.parametrize("store_kind", ["embedded", pytest.param("server", marks=pytest.mark.server)], indirect=True)
def test_concurrent_asks_get_their_own_answers(make_qa: MakeQA) -> None:
    qa = seeded(make_qa(backend="extractive"))
    expected = {q: qa.ask(q).to_dict() for q in QUESTIONS}  # one at a time, in-process: the oracle
    with live(qa) as server:
        barrier = threading.Barrier(len(QUESTIONS))

        def ask(question: str) -> dict[str, Any]:
            barrier.wait()  # all 20 requests in flight at once
            response = server.http.post("/v1/ask", json={"question": question})
            assert response.status_code == 200, response.text
            return dict(response.json())

        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            answers = list(pool.map(ask, QUESTIONS))
    assert len(set(QUESTIONS)) == 20
    for question, answer in zip(QUESTIONS, answers, strict=True):
        assert answer["question"] == question
        assert without_latency(answer) == without_latency(expected[question])
        assert_grounded(qa, answer)
    assert sum(not a["refused"] for a in answers) >= 15


# --- OpenAI-compatible chat ------------------------------------------------------------------------------


def test_openai_client_chat(server: Live) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    assert [m.id for m in client.models.list()] == ["qa"]
    messages: Any = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": SEED_QUESTION}]
    reply = client.chat.completions.create(model="qa", messages=messages)
    extra = reply.model_extra or {}
    answer = extra["qa"]
    assert_grounded(server.qa, answer)
    content = reply.choices[0].message.content or ""
    text, sources = content.split("\n\nSources:\n")
    assert text == answer["answer"] and "[1]" in text and reply.choices[0].finish_reason == "stop"
    first = answer["citations"][0]
    assert sources.startswith(f'[1] {first["source"]}, chars {first["start"]}-{first["end"]}: "')

    stream = client.chat.completions.create(
        model="qa", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == content
    (last,) = [c for c in chunks if c.choices and c.choices[0].finish_reason == "stop"]
    assert without_latency((last.model_extra or {})["qa"]) == without_latency(answer)
    assert chunks[-1].usage is not None and chunks[-1].choices == []
    raw = server.http.post("/v1/chat/completions", json={"messages": messages, "stream": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    assert sse(raw.text)[-1] == ("message", "[DONE]")


def test_chat_history_makes_the_follow_up_standalone(server: Live) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    first = client.chat.completions.create(model="qa", messages=[{"role": "user", "content": SEED_QUESTION}])
    messages: Any = [
        {"role": "user", "content": SEED_QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "What is his position?"}]},
    ]
    follow_up = (client.chat.completions.create(model="qa", messages=messages).model_extra or {})["qa"]
    assert follow_up["question"] == "What is his position?"
    assert SEED_QUESTION in follow_up["standalone_question"]
    assert_grounded(server.qa, follow_up)


# --- the schema -------------------------------------------------------------------------------------------


def test_openapi_schema_matches_the_routes(server: Live) -> None:
    schema = server.http.get("/openapi.json").json()
    paths = {path: set(methods) for path, methods in schema["paths"].items()}
    assert paths == {
        "/v1/ask": {"post"},
        "/v1/search": {"post"},
        "/v1/documents": {"get", "post"},
        "/v1/documents/{doc_id}": {"delete"},
        "/v1/feedback": {"post"},
        "/v1/chat/completions": {"post"},
        "/v1/models": {"get"},
        "/healthz": {"get"},
        "/readyz": {"get"},
    }
    for path, method in (("/v1/ask", "post"), ("/v1/documents", "post"), ("/v1/chat/completions", "post")):
        invalid = schema["paths"][path][method]["responses"]["422"]["content"]["application/json"]["schema"]
        assert invalid == {"$ref": "#/components/schemas/ErrorOut"}
    for path in ("/v1/ask", "/v1/search", "/v1/chat/completions"):
        empty = schema["paths"][path]["post"]["responses"]["409"]["content"]["application/json"]["schema"]
        assert empty == {"$ref": "#/components/schemas/ErrorOut"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # every 422 has our error shape
    upload = schema["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
    answer = server.http.post("/v1/ask", json={"question": SEED_QUESTION}).json()
    assert list(AnswerOut.model_fields) == list(answer)  # the schema is the real shape, in order
    assert list(ReportOut.model_fields) == list(IngestReport().to_dict())
