"""One settings object, built once at the edge (CLI, UI, API) and handed down.

Precedence: explicit arguments, then `QA_*` environment variables (and the OpenAI client's own
`OPENAI_API_KEY` / `OPENAI_BASE_URL`), then the defaults below.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

EMBEDDERS = ("minilm", "openai")


def _doc(text: str, env: str | None = None) -> dict[str, str]:
    return {"doc": text, "env": env or ""}


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
    openai_base_url: str | None = field(
        default=None, metadata=_doc("OpenAI-compatible endpoint", "OPENAI_BASE_URL")
    )
    openai_api_key: str | None = field(
        default=None, repr=False, metadata=_doc("API key for the endpoint", "OPENAI_API_KEY")
    )
    chunk_tokens: int = field(
        default=200, metadata=_doc("most tiktoken tokens in a chunk", "QA_CHUNK_TOKENS")
    )
    chunk_overlap: int = field(
        default=40, metadata=_doc("tokens shared by neighbouring chunks", "QA_CHUNK_OVERLAP")
    )
    tokenizer: str = field(
        default="o200k_base", metadata=_doc("tiktoken encoding for counting", "QA_TOKENIZER")
    )
    max_file_mb: float = field(default=50.0, metadata=_doc("larger files are skipped", "QA_MAX_FILE_MB"))
    k: int = field(default=5, metadata=_doc("passages returned by search", "QA_K"))
    timeout: float = field(
        default=30.0, metadata=_doc("seconds before a network call gives up", "QA_TIMEOUT")
    )

    def __post_init__(self) -> None:
        if self.embedder not in EMBEDDERS:
            raise ConfigError(
                f"unknown embedder {self.embedder!r}; set QA_EMBEDDER to one of {', '.join(EMBEDDERS)}"
            )
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]", self.collection):
            raise ConfigError(
                f"invalid collection name {self.collection!r}: use 3-512 letters, digits, '.', '_' "
                "or '-', starting and ending with a letter or digit"
            )
        if self.chunk_tokens < 16 or not 0 <= self.chunk_overlap < self.chunk_tokens // 2:
            raise ConfigError("need QA_CHUNK_TOKENS >= 16 and 0 <= QA_CHUNK_OVERLAP < half of it")
        if self.k < 1 or self.max_file_mb <= 0 or self.timeout <= 0:
            raise ConfigError("QA_K, QA_MAX_FILE_MB and QA_TIMEOUT must be positive")

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
        if "home" in values:
            values["home"] = Path(values["home"]).expanduser()
        return cls(**values)


def _parse(kind: Any, raw: str, variable: str) -> Any:
    try:
        if kind in ("int", int):
            return int(raw)
        if kind in ("float", float):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"{variable}={raw!r} is not a number") from exc
    return raw
