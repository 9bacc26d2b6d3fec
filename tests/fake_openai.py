"""A small, deterministic OpenAI-compatible HTTP server on loopback, for exact assertions in tests.

It speaks the real wire protocol (the `openai` client talks to it over HTTP), so it exercises the same code
paths as any OpenAI-compatible endpoint. Embeddings are hashed bags of words: texts sharing words are close.
Tests can queue failures (`fail_next`) to see how the client side copes with 429/500/timeouts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIM = 64


def bag_of_words(text: str) -> list[float]:
    vector = [0.0] * DIM
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


@dataclass
class FakeOpenAI:
    """State shared with the handler: the requests seen and the failures queued."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, float]] = field(default_factory=list)  # (status, delay seconds)

    def fail_next(self, status: int, delay: float = 0.0, times: int = 1) -> None:
        self.failures.extend([(status, delay)] * times)


def _handler(state: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError):  # the client gave up (a timeout test)
                self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            state.requests.append({"path": self.path, "body": body})
            if state.failures:
                status, delay = state.failures.pop(0)
                time.sleep(delay)
                if status >= 400:
                    self._send(status, {"error": {"message": f"injected {status}", "type": "test"}})
                    return
            if self.path.endswith("/embeddings"):
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [{"object": "embedding", "index": i, "embedding": bag_of_words(t)} for i, t in enumerate(texts)]
                usage = {"prompt_tokens": 0, "total_tokens": 0}
                self._send(200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage})
                return
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    return Handler


@contextmanager
def serve() -> Iterator[FakeOpenAI]:
    state = FakeOpenAI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
