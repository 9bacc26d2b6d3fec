"""One settings object, built once at the edge (CLI, UI, API) and handed down.

Precedence: explicit arguments, then `QA_*` environment variables (and the OpenAI client's own
`OPENAI_API_KEY` / `OPENAI_BASE_URL`), then the defaults below.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

from qa.errors import ConfigError

EMBEDDERS = ("minilm", "openai")
Backend = Literal["auto", "openai", "llama", "extractive"]  # who writes the answer (README: Backends)
BACKENDS: tuple[str, ...] = get_args(Backend)
OPENAI_URL = "https://api.openai.com/v1"  # the endpoint when QA_OPENAI_BASE_URL/OPENAI_BASE_URL names none


def _doc(text: str, env: str | None = None) -> dict[str, str]:
    return {"doc": text, "env": env or ""}


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity, where the system says), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Settings:
    home: Path = field(default=Path(".qa"), metadata=_doc("folder holding the index and caches", "QA_HOME"))
    chroma_url: str | None = field(
        default=None,
        metadata=_doc("Chroma server URL; unset means an embedded store under home", "QA_CHROMA_URL"),
    )
    collection: str = field(default="documents", metadata=_doc("Chroma collection name", "QA_COLLECTION"))
    embedder: str = field(default="minilm", metadata=_doc("minilm (local, offline) or openai", "QA_EMBEDDER"))
    embed_model: str = field(
        default="text-embedding-3-small",
        metadata=_doc("model name for the openai embedder", "QA_EMBED_MODEL"),
    )
    openai_base_url: str | None = field(default=None, metadata=_doc("OpenAI-compatible endpoint", "OPENAI_BASE_URL"))
    openai_api_key: str | None = field(
        default=None, repr=False, metadata=_doc("API key for the endpoint", "OPENAI_API_KEY")
    )
    chunk_tokens: int = field(default=200, metadata=_doc("most tiktoken tokens in a chunk", "QA_CHUNK_TOKENS"))
    chunk_overlap: int = field(default=40, metadata=_doc("tokens shared by neighbouring chunks", "QA_CHUNK_OVERLAP"))
    tokenizer: str = field(default="o200k_base", metadata=_doc("tiktoken encoding for counting", "QA_TOKENIZER"))
    max_file_mb: float = field(default=50.0, metadata=_doc("larger files are skipped", "QA_MAX_FILE_MB"))
    k: int = field(default=5, metadata=_doc("passages returned by search", "QA_K"))
    timeout: float = field(
        default=30.0,
        metadata=_doc(
            "seconds before a network call gives up: an embeddings request, or a whole answer from the LLM "
            "endpoint (from its first request to its last token, retries and a follow-up's rewrite included)",
            "QA_TIMEOUT",
        ),
    )
    backend: str = field(default="auto", metadata=_doc("auto, openai, llama or extractive", "QA_BACKEND"))
    llm_model: str = field(default="gpt-4o-mini", metadata=_doc("model name at the OpenAI endpoint", "QA_LLM_MODEL"))
    llm_model_path: Path | None = field(
        default=None, metadata=_doc("GGUF file for the llama backend (default: packaged SmolLM2)", "QA_LLM_MODEL_PATH")
    )
    context_tokens: int = field(default=4096, metadata=_doc("the model's context window", "QA_CONTEXT_TOKENS"))
    answer_tokens: int = field(default=256, metadata=_doc("most tokens an answer may take", "QA_ANSWER_TOKENS"))
    refuse_at: float = field(
        default=0.25,
        metadata=_doc(
            "an LLM answer is refused when the model's probability of starting its reply with the refusal is at "
            "least this (higher: more answers, fewer refusals); 0 leaves the decision to its likeliest first token",
            "QA_REFUSE_AT",
        ),
    )
    min_odds: float = field(
        default=0.1,
        metadata=_doc(
            "the extractive backend answers only when its odds that the best sentence answers are at least this "
            "(higher: fewer wrong answers and more refusals of questions it could answer); 0 leaves it to the rules",
            "QA_MIN_ODDS",
        ),
    )
    llm_threads: int = field(
        default_factory=usable_cores,
        metadata=_doc(
            "CPU threads of the llama backend: all read the prompt, half (at least 1) write the answer; default: "
            "every core this process may use",
            "QA_LLM_THREADS",
        ),
    )
    strict: bool = field(
        default=False,
        metadata=_doc(
            "refuse answers with unsupported sentences; the extractive backend answers only at odds of 0.3 or more "
            "(QA_MIN_ODDS when higher)",
            "QA_STRICT",
        ),
    )
    log: bool = field(
        default=True,
        metadata=_doc(
            "record answers and their ratings in home/log.jsonl: the chat app and `qa serve` do, `qa ask` only with "
            "--log; off: nothing is recorded",
            "QA_LOG",
        ),
    )
    max_question_chars: int = field(
        default=2000,
        metadata=_doc("longest question or search query (and user turn of a history), in characters",
                      "QA_MAX_QUESTION_CHARS"),
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ConfigError(f"unknown embedder {self.embedder!r}; set QA_EMBEDDER to one of {', '.join(EMBEDDERS)}")
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]", self.collection):
            raise ConfigError(
                f"invalid collection name {self.collection!r}: use 3-512 letters, digits, '.', '_' "
                "or '-', starting and ending with a letter or digit"
            )
        if self.chunk_tokens < 16 or not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError("need QA_CHUNK_TOKENS >= 16 and 0 <= QA_CHUNK_OVERLAP < half of it")
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; choose one of {', '.join(BACKENDS)} (QA_BACKEND)")
        if self.k < 1 or self.max_file_mb <= 0 or self.timeout <= 0:
            raise ConfigError("QA_K, QA_MAX_FILE_MB and QA_TIMEOUT must be positive")
        if self.max_question_chars < 1:
            raise ConfigError(f"QA_MAX_QUESTION_CHARS={self.max_question_chars} must be 1 or more")
        for variable, odds in (("QA_REFUSE_AT", self.refuse_at), ("QA_MIN_ODDS", self.min_odds)):
            if not 0.0 <= odds <= 1.0:
                raise ConfigError(f"{variable}={odds:g} is not a probability; set it between 0 and 1")
        if self.llm_threads < 1:
            raise ConfigError(f"QA_LLM_THREADS={self.llm_threads} is not a thread count; set it to 1 or more")

    def resolved_backend(self) -> str:
        """The backend `auto` stands for: an endpoint if one is configured, else a local model, else none."""
        if self.backend != "auto":
            return self.backend
        if self.openai_base_url or self.openai_api_key:
            return "openai"
        return "llama" if self.llm_model_path else "extractive"

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Settings from `overrides` (None means unset), then `env`, then the defaults."""
        values: dict[str, Any] = {}
        for spec in dataclasses.fields(cls):
            name, variable = spec.name, spec.metadata["env"]
            if overrides.get(name) is not None:
                values[name] = overrides[name]
            elif env.get(variable):
                values[name] = _parse(spec.type, env[variable], variable)
        unknown = set(overrides) - {spec.name for spec in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        for name in ("home", "llm_model_path"):
            if values.get(name) is not None:
                values[name] = Path(values[name]).expanduser()
        return cls(**values)


def _parse(kind: Any, raw: str, variable: str) -> Any:
    if kind in ("bool", bool):
        if raw.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ConfigError(f"{variable}={raw!r} is not true or false")
        return raw.lower() in ("1", "true", "yes", "on")
    try:
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{variable}={raw!r} is not a number") from exc
    return raw
