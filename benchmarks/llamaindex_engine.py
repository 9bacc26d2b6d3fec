"""LlamaIndex's CitationQueryEngine set up like qa for a fair side by side (benchmarks/llm_answers.py).

Same embedder (qa's all-MiniLM-L6-v2 int8, wrapped as a LlamaIndex embedding), same chunk size and overlap in
tokens (200/40, LlamaIndex's own SentenceSplitter), same k, the same model behind llama.cpp's OpenAI-compatible
server through `OpenAILike`. LlamaIndex's tiktoken-based token counter is given qa's offline encoding so that
nothing is downloaded. Needs benchmarks/requirements-llm.txt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa.backends import shared_minilm
from qa.ingest.loaders import discover, load
from qa.text.tokens import encoding


def _embedding() -> Any:
    from llama_index.core.embeddings import BaseEmbedding

    class MiniLM(BaseEmbedding):  # type: ignore[misc]
        """qa's local MiniLM as a LlamaIndex embedding model."""

        def _get_query_embedding(self, query: str) -> list[float]:
            return [float(x) for x in shared_minilm().embed([query])[0]]

        def _get_text_embedding(self, text: str) -> list[float]:
            return [float(x) for x in shared_minilm().embed([text])[0]]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [[float(x) for x in row] for row in shared_minilm().embed(texts)]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return MiniLM(model_name="all-MiniLM-L6-v2-int8", embed_batch_size=32)


def _documents(docs: Path) -> list[Any]:
    """The corpus read by qa's own loaders, so both engines see the same text."""
    from llama_index.core import Document

    files, failed, _ = discover([docs])
    if failed:
        raise SystemExit(f"cannot read {failed[0][0]}: {failed[0][1]}")
    return [Document(text=load(f, 50 * 1024 * 1024).text, metadata={"source": str(f)}) for f in files]


def citation_engine(docs: Path, url: str, k: int, chunk_tokens: int = 200, overlap: int = 40) -> Any:
    from llama_index.core import Settings, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.query_engine import CitationQueryEngine
    from llama_index.llms.openai_like import OpenAILike

    tokens = encoding("o200k_base")
    Settings.tokenizer = tokens.encode
    Settings.embed_model = _embedding()
    Settings.llm = OpenAILike(
        model="eval", api_base=url, api_key="not-needed", is_chat_model=True, context_window=4096,
        max_tokens=256, temperature=0.0, timeout=600.0, max_retries=0,
    )  # fmt: skip
    splitter = SentenceSplitter(chunk_size=chunk_tokens, chunk_overlap=overlap, tokenizer=tokens.encode)
    index = VectorStoreIndex.from_documents(_documents(docs), transformations=[splitter])
    return CitationQueryEngine.from_args(index, similarity_top_k=k)


def source_texts(response: Any) -> dict[int, str]:
    """The numbered sources the engine showed the model ("Source 1:\\n..."), by number."""
    found = {}
    for n, node in enumerate(response.source_nodes, 1):
        text = node.node.get_content()
        head, _, body = text.partition("\n")
        found[n] = body if head.lower().startswith("source") else text
    return found
