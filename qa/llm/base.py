"""What every LLM client is: the `LLM` protocol (messages in, text deltas out), `Weighing` (the first token's
odds), the chat `Message` shape, and the `Deadline` one answer shares across its requests.

`qa.llm.openai.OpenAIGenerator` speaks to any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server,
LM Studio); `qa.llm.llama.LlamaGenerator` runs a GGUF file in-process with llama-cpp-python. Both are chosen in
`qa.backends.make_generator`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

Message = dict[str, str]
# llama.cpp's OpenAI-compatible server (and Ollama) sample with these by default; the in-process backend uses the
# same, so a model answers alike in-process and behind a server
SERVER_SAMPLING = {"repeat_penalty": 1.1, "top_k": 40, "min_p": 0.05}


class LLM(Protocol):
    """A chat model. `name` is the backend (openai, llama), `model` what it runs."""

    name: str
    model: str

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]: ...


@runtime_checkable
class Weighing(Protocol):
    """A chat model that can tell how likely each first token of its reply is (both shipped backends can; an
    endpoint that returns no log-probabilities gives an empty dict)."""

    def first_token(self, messages: Sequence[Message]) -> dict[str, float]:
        """The probabilities of the reply's most likely first tokens (about ten), by token text."""
        ...


FIRST_TOKENS = 10  # how many first tokens `first_token` reports


class Deadline:
    """The time one answer may take, counted from its first request to the endpoint: every later request of
    the same answer (a retry; the answer after a follow-up's rewrite) shares what is left of it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end: float | None = None

    def left(self) -> float:
        if self._end is None:
            self._end = time.monotonic() + self.seconds
        return self._end - time.monotonic()
