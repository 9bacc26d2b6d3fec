"""A small, deterministic OpenAI-compatible HTTP server on loopback, for exact assertions in tests.

It speaks the real wire protocol (the `openai` client talks to it over HTTP), so it exercises the same code
paths as any OpenAI-compatible endpoint:

- `POST /v1/embeddings`: hashed bags of words, so texts sharing words are close;
- `POST /v1/chat/completions`: a scripted model. `reply(...)` queues the next answers (a text, or a callable
  that receives the request body and returns the text, e.g. built from the passages in the prompt); with
  nothing queued it answers `DEFAULT_REPLY`. Both the plain JSON response and the streamed one
  (`"stream": true`: server-sent events in the real chunk format, ending with `data: [DONE]`) are served;
- `GET /v1/models`: the model list.

Tests can queue failures (`fail_next`: 429/500, or a delay before answering to provoke timeouts), malformed
responses (`malform_next`) and the faults of a dying endpoint (`fault_next`: a connection dropped unanswered, a
hang, a slow drip of tokens, a stream cut off mid-answer, a chunked body cut mid-chunk, an error that repeats the
API key) to see how the client side copes. Every request is recorded in `requests`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 64
DEFAULT_REPLY = "NOT IN DOCUMENTS"
MALFORMED = ("not-json", "wrong-shape", "json-for-stream", "no-choices")
# what `fault_next` can make the next chat completion do:
FAULTS = {
    "refuse": "drop the connection at once without answering (a reset), as a server going down does",
    "hang": "send nothing at all until the client hangs up",
    "drip": "stream the reply one delta every `every` seconds",
    "cut": "stream the first half of the reply, then close: no finish_reason and no [DONE]",
    "cut-chunked": "stream the first half with chunked transfer encoding, then close in the middle of a chunk",
    "echo-key": "fail with `status` and an error message repeating the API key the request carried",
}

Reply = str | Callable[[dict[str, Any]], str]


def bag_of_words(text: str) -> list[float]:
    vector = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


def pieces(text: str, size: int = 3) -> list[str]:
    """The reply cut into stream deltas of `size` words each (spaces kept, so they join back exactly)."""
    tokens = re.findall(r"\S+\s*|\s+", text)
    return ["".join(tokens[i : i + size]) for i in range(0, len(tokens), size)] or [""]


@dataclass
class FakeOpenAI:
    """State shared with the handler: the requests seen, the replies, failures and malformations queued."""

    url: str = ""
    model_ids: tuple[str, ...] = ("fake-model",)
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, float]] = field(default_factory=list)  # (status, delay seconds)
    replies: list[Reply] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)
    faults: list[tuple[str, float, int]] = field(default_factory=list)  # (kind, every seconds, status)
    chunk_words: int = 3  # words per streamed delta
    # the first-token probabilities a probe (a one-token request asking for logprobs) gets back; None: the
    # endpoint returns no log-probabilities, as some do
    first_token_odds: dict[str, float] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def fail_next(self, status: int, delay: float = 0.0, times: int = 1) -> None:
        """The next `times` requests wait `delay` s, then fail with `status` (or proceed if it is < 400)."""
        self.failures.extend([(status, delay)] * times)

    def reply(self, answer: Reply, times: int = 1) -> None:
        """Queue the chat model's next answer(s): a text, or a function of the request body."""
        self.replies.extend([answer] * times)

    def malform_next(self, kind: str = "not-json", times: int = 1) -> None:
        """The next chat completion(s) answer 200 with a body that is not the OpenAI shape; `kind` is one of
        MALFORMED: invalid JSON, JSON of another shape, a JSON object where a stream was asked for, or
        chunks without choices."""
        if kind not in MALFORMED:
            raise ValueError(f"unknown malformation {kind!r}")
        self.malformed.extend([kind] * times)

    def fault_next(self, kind: str, times: int = 1, *, every: float = 0.2, status: int = 401) -> None:
        """The next chat completion(s) meet a fault, one of FAULTS (`every`: seconds between the deltas of a
        drip; `status`: the HTTP status of an echo-key error)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULTS)}")
        self.faults.extend([(kind, every, status)] * times)

    @property
    def chats(self) -> list[dict[str, Any]]:
        """The bodies of the chat completion requests received, in order, probes left out."""
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and not _probe(r["body"])]

    @property
    def probes(self) -> list[dict[str, Any]]:
        """The bodies of the first-token probes received (one token, with logprobs), in order."""
        return [r["body"] for r in self.requests if r["path"].endswith("/chat/completions") and _probe(r["body"])]

    def user_prompt(self, index: int = -1) -> str:
        """The last user message of a chat request (the latest by default)."""
        return str([m for m in self.chats[index]["messages"] if m["role"] == "user"][-1]["content"])

    def system_prompt(self, index: int = -1) -> str:
        return str(next(m for m in self.chats[index]["messages"] if m["role"] == "system")["content"])

    def _answer(self, body: dict[str, Any]) -> str:
        if not self.replies:
            return DEFAULT_REPLY
        answer = self.replies.pop(0)
        return answer(body) if callable(answer) else answer


def _probe(body: dict[str, Any]) -> bool:
    """A request for the first token's log-probabilities only: it takes none of the queued replies or faults."""
    return bool(body.get("logprobs")) and body.get("max_tokens") == 1 and not body.get("stream")


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0 (the default): one request per connection, so a streamed body simply ends when the
        # connection closes, and nothing lingers after the server shuts down

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _raw(self, status: int, data: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                self.wfile.write(data)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            self._raw(status, json.dumps(body).encode())

        def do_GET(self) -> None:
            with state.lock:
                state.requests.append({"method": "GET", "path": self.path, "body": None})
            if self.path.rstrip("/").endswith("/models"):
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in state.model_ids]
                self._send(200, {"object": "list", "data": data})
                return
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            chat = self.path.endswith("/chat/completions")
            if chat and _probe(body):
                with state.lock:
                    state.requests.append({"method": "POST", "path": self.path, "body": body})
                self._first_token(body)
                return
            with state.lock:
                state.requests.append({"method": "POST", "path": self.path, "body": body})
                status, delay = state.failures.pop(0) if state.failures else (200, 0.0)
                # what a chat request gets is decided when it arrives, so a request the client has given up
                # on (a timeout) cannot take the reply queued for the next one
                malformed = state.malformed.pop(0) if chat and status < 400 and state.malformed else None
                fault = state.faults.pop(0) if chat and status < 400 and not malformed and state.faults else None
                text, problem = "", f"injected {status}"
                if chat and status < 400 and malformed is None:
                    try:
                        text = state._answer(body)
                    except Exception as exc:  # a test's reply function failed: say so in a 500
                        status, problem = 500, f"the scripted reply failed: {exc!r}"
            time.sleep(delay)
            if status >= 400:
                self._send(status, {"error": {"message": problem, "type": "test"}})
                return
            if self.path.endswith("/embeddings"):
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [{"object": "embedding", "index": i, "embedding": bag_of_words(t)} for i, t in enumerate(texts)]
                usage = {"prompt_tokens": 0, "total_tokens": 0}
                self._send(200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage})
                return
            if chat and fault is not None:
                self._fault(body, text, *fault)
                return
            if chat:
                self._chat(body, text, malformed)
                return
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def _first_token(self, body: dict[str, Any]) -> None:
            odds = state.first_token_odds
            logprobs = None
            if odds:
                top = [
                    {"token": t, "logprob": math.log(p), "bytes": list(t.encode()), "top_logprobs": []}
                    for t, p in sorted(odds.items(), key=lambda kv: -kv[1])
                ]
                logprobs = {"content": [{**top[0], "top_logprobs": top}]}
            first = max(odds, key=odds.__getitem__) if odds else ""
            choice = {"index": 0, "message": {"role": "assistant", "content": first}, "finish_reason": "length"}
            usage = {"prompt_tokens": 0, "completion_tokens": 1, "total_tokens": 1}
            reply = {"id": "chatcmpl-probe", "object": "chat.completion", "created": int(time.time())}
            self._send(
                200,
                {**reply, "model": body.get("model"), "choices": [{**choice, "logprobs": logprobs}], "usage": usage},
            )

        def _chat(self, body: dict[str, Any], text: str, malformed: str | None) -> None:
            stream = bool(body.get("stream"))
            if malformed:
                self._malformed(malformed, stream)
                return
            model = body.get("model", "fake-model")
            created = int(time.time())
            ident = f"chatcmpl-fake{len(state.requests)}"
            if not stream:
                message = {"role": "assistant", "content": text}
                choice = {"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}
                usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
                self._send(
                    200,
                    {
                        "id": ident,
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [choice],
                        "usage": usage,
                    },
                )
                return

            self._events(self._stream_events(body, text))

        def _stream_events(self, body: dict[str, Any], text: str) -> list[bytes]:
            """The whole streamed reply: a role chunk, the text's deltas, a finish chunk, then [DONE]."""
            model, created = body.get("model", "fake-model"), int(time.time())
            ident = f"chatcmpl-fake{len(state.requests)}"

            def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
                event = {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return b"data: " + json.dumps(event).encode() + b"\n\n"

            events = [chunk({"role": "assistant", "content": ""})]
            events += [chunk({"content": piece}) for piece in pieces(text, state.chunk_words)]
            return [*events, chunk({}, "stop"), b"data: [DONE]\n\n"]

        def _events(self, events: list[bytes], every: float = 0.0) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for n, event in enumerate(events):
                    if n and every and state.stopping.wait(every):
                        return
                    self.wfile.write(event)
                    self.wfile.flush()

        def _fault(self, body: dict[str, Any], text: str, kind: str, every: float, status: int) -> None:
            events = self._stream_events(body, text)
            half = events[: max(2, (len(events) - 2) // 2 + 1)]  # the role chunk and about half the deltas
            if kind == "refuse":  # SO_LINGER 0: closing sends a reset, not an orderly end
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
            elif kind == "hang":
                self._wait_for_hang_up()
            elif kind == "drip":
                self._events(events, every)
            elif kind == "cut":
                self._events(half)
            elif kind == "cut-chunked":
                self._cut_chunked(half)
            else:  # echo-key
                key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                message = f"Incorrect API key provided: {key}. Check the key you sent ({key})."
                self._send(status, {"error": {"message": message, "type": "invalid_request_error", "key": key}})

        def _wait_for_hang_up(self) -> None:
            """Answer nothing until the client closes the connection (or the server stops)."""
            waiting = select.poll()  # not select(): a test process may hold more than 1024 descriptors
            waiting.register(self.connection, select.POLLIN)
            while not state.stopping.is_set():
                readable = waiting.poll(50)
                with contextlib.suppress(OSError):
                    if readable and not self.connection.recv(1, socket.MSG_PEEK):
                        return

        def _cut_chunked(self, events: list[bytes]) -> None:
            """An HTTP/1.1 chunked body that stops inside a chunk: the size line promises more than comes."""
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            body = b"".join(b"%x\r\n%s\r\n" % (len(event), event) for event in events)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(head + body + b'400\r\ndata: {"id"')
                self.wfile.flush()
            self.close_connection = True

        def _malformed(self, kind: str, stream: bool) -> None:
            if kind == "json-for-stream" or not stream:
                data = {"not-json": b"<html>502 gateway trouble", "wrong-shape": b'{"result": "ok"}'}
                self._raw(200, data.get(kind, b'{"answer": 42}'))
                return
            if kind == "not-json":
                self._events([b"data: {this is not json\n\n", b"data: [DONE]\n\n"])
            elif kind == "wrong-shape":
                self._events([b'data: {"choices": [{"index": 0, "delta": "text, not an object"}]}\n\n'])
            else:  # no-choices: well-formed events that never carry an answer
                self._events([b'data: {"id": "x", "object": "chat.completion.chunk"}\n\n', b"data: [DONE]\n\n"])

    return Handler


@contextmanager
def serve() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stopping.set()  # a hanging or dripping handler ends now
        server.shutdown()
        server.server_close()


# --- the check every answer of every test goes through ----------------------------------------------------

_MARKER = re.compile(r"\[(\d+)\]")


def assert_grounded(qa: Any, answer: Any) -> None:
    """`answer` (an `Answer`, or its `--json` form) keeps the service's promise: each citation's quote is the
    stored document's text at its offsets, citations are numbered 1..n in order and the answer text cites
    exactly those numbers; a refusal cites nothing."""
    shown = answer if isinstance(answer, dict) else answer.to_dict()
    citations = shown["citations"]
    assert [c["n"] for c in citations] == list(range(1, len(citations) + 1)), citations
    for c in citations:
        document = qa.document(c["doc_id"])
        assert c["quote"].strip(), c
        assert document.text[c["start"] : c["end"]] == c["quote"], c
        assert c["source"] == document.source, c
    if shown["refused"]:
        assert citations == [], shown
    else:
        assert {int(n) for n in _MARKER.findall(shown["answer"])} == {c["n"] for c in citations}, shown
