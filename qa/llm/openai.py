"""`OpenAIGenerator`: any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp's server, LM Studio), with
retries, one deadline per answer, streamed deltas and the first token's odds through `logprobs`."""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any, cast

from qa.errors import BackendError, BackendTimeoutError, redact
from qa.llm.base import FIRST_TOKENS, Deadline, Message
from qa.settings import OPENAI_URL


class OpenAIGenerator:
    """Any OpenAI-compatible endpoint. One answer (`stream`, or every call of `for_one_answer()`) takes at most
    `timeout` seconds in all, retries included; 429, 5xx and refused connections are retried `retries` times
    while time is left. A stream that stops before the model's finish reason is an error, never an answer."""

    name = "openai"

    def __init__(self, model: str, base_url: str | None, api_key: str | None, timeout: float, retries: int = 2) -> None:
        import openai

        self.model = model
        self.url = base_url or OPENAI_URL
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
