"""`qa mcp` through the MCP SDK's own client: a real `python -m qa mcp` process over stdio, and one serving
streamable HTTP on a loopback port with a bearer key, both on a temporary index holding the seed article.

Each transport gets one process and one conversation (model loading is the slow part); the conversation records
what the server answered and the tests below check it, so a failure names the behaviour that broke. The index
without documents is served in-process over the SDK's in-memory transport.
"""

from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import mcp_types as types
import pytest
from mcp import Client, ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from qa import QA, Settings
from qa.index.embedders import Embedder
from qa.server.mcp import build_server
from tests.conftest import SEED, SEED_QUESTION
from tests.processes import free_port, server_process

pytestmark = pytest.mark.slow  # one `qa mcp` process per transport, each loading the model

KEY = "mcp-test-key-" + uuid.uuid4().hex[:8]
COLLECTION = "mcp-" + uuid.uuid4().hex[:8]


@dataclass
class Conversation:
    """What the server answered to one scripted session."""

    tools: list[types.Tool]
    ask: types.CallToolResult
    search: types.CallToolResult
    search_within: types.CallToolResult  # within the seed document, named by its id
    search_elsewhere: types.CallToolResult  # within a document id the index does not hold
    documents: types.CallToolResult
    resources: types.ListResourcesResult
    templates: types.ListResourceTemplatesResult
    text: str  # the seed document read as its resource
    unknown: MCPError  # reading a document the index does not hold
    empty_question: types.CallToolResult
    bad_k: types.CallToolResult


def child_env(**extra: str) -> dict[str, str]:
    """The test environment without any QA_*/OPENAI_* setting a developer may have exported, plus `extra`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}, **extra}


def _text(result: types.ReadResourceResult) -> str:
    (content,) = result.contents
    assert isinstance(content, types.TextResourceContents)
    return content.text


async def converse(session: ClientSession) -> Conversation:
    await session.initialize()
    documents = await session.call_tool("list_documents", {})
    assert documents.structured_content is not None, documents
    doc_id, uri = (documents.structured_content["documents"][0][key] for key in ("doc_id", "uri"))
    try:
        await session.read_resource("qa://documents/0000nosuchdoc000")
    except MCPError as exc:
        unknown = exc
    else:
        pytest.fail("reading an unknown document was not an error")
    return Conversation(
        tools=(await session.list_tools()).tools,
        ask=await session.call_tool("ask", {"question": SEED_QUESTION}),
        search=await session.call_tool("search", {"query": "who oversees the training?", "k": 2, "mode": "hybrid"}),
        search_within=await session.call_tool("search", {"query": "training", "docs": [doc_id]}),
        search_elsewhere=await session.call_tool("search", {"query": "training", "docs": ["0000nosuchdoc000"]}),
        documents=documents,
        resources=await session.list_resources(),
        templates=await session.list_resource_templates(),
        text=_text(await session.read_resource(uri)),
        unknown=unknown,
        empty_question=await session.call_tool("ask", {"question": "   "}),
        bad_k=await session.call_tool("search", {"query": "training", "k": 0}),
    )


@asynccontextmanager
async def session_over(streams: Any) -> AsyncIterator[ClientSession]:
    async with streams as (read, write), ClientSession(read, write, read_timeout_seconds=120) as session:
        yield session


@dataclass
class Served:
    home: Path
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Served:
    folder = tmp_path_factory.mktemp("mcp")
    home = folder / "home"
    assert QA(Settings(home=home, collection=COLLECTION), embedder=embedder).ingest([SEED]).added
    return Served(home, folder)


def _stdio(served: Served) -> Conversation:
    env = child_env(QA_HOME=str(served.home), QA_COLLECTION=COLLECTION, QA_BACKEND="extractive")
    params = StdioServerParameters(command=sys.executable, args=["-m", "qa", "mcp"], env=env, cwd=served.folder)

    async def run() -> Conversation:
        with (served.folder / "stdio.log").open("w") as log:
            async with session_over(stdio_client(params, errlog=log)) as session:
                return await converse(session)

    return anyio.run(run)


@pytest.fixture(scope="module")
def http_server(served: Served) -> Iterator[str]:
    """`qa mcp --port N` with QA_API_KEY set; yields its base URL."""
    port = free_port()
    env = child_env(QA_HOME=str(served.home), QA_COLLECTION=COLLECTION, QA_BACKEND="extractive", QA_API_KEY=KEY)
    command = [sys.executable, "-m", "qa", "mcp", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    log = served.folder / "http.log"
    with server_process("qa mcp --port", command, f"{url}/healthz", log, seconds=60, env=env, cwd=served.folder):
        yield url


def _http(url: str) -> Conversation:
    async def run() -> Conversation:
        headers = {"Authorization": f"Bearer {KEY}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120)) as http,
            session_over(streamable_http_client(f"{url}/mcp", http_client=http)) as session,
        ):
            return await converse(session)

    return anyio.run(run)


@pytest.fixture(scope="module", params=["stdio", "http"])
def talk(request: pytest.FixtureRequest, served: Served) -> Conversation:
    if request.param == "stdio":
        return _stdio(served)
    return _http(request.getfixturevalue("http_server"))


# --- what both transports answer --------------------------------------------------------------------------


def test_lists_the_three_tools_with_their_schemas(talk: Conversation) -> None:
    tools = {tool.name: tool for tool in talk.tools}
    assert set(tools) == {"ask", "search", "list_documents"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["search"].input_schema["properties"]) >= {"query", "k", "mode"}
    for tool in tools.values():
        assert tool.output_schema is not None and tool.description, tool.name


def test_ask_cites_verbatim_quotes_with_offsets_into_the_document(talk: Conversation) -> None:
    assert not talk.ask.is_error, talk.ask.content
    answer = talk.ask.structured_content
    assert answer is not None
    assert not answer["refused"] and "Yevkurov" in answer["answer"]
    assert answer["citations"] and answer["backend"] == "extractive"
    (shown,) = talk.ask.content
    assert isinstance(shown, types.TextContent) and shown.text.startswith(answer["answer"])
    for citation in answer["citations"]:
        assert talk.text[citation["start"] : citation["end"]] == citation["quote"]
        assert citation["uri"] == f"qa://documents/{citation['doc_id']}"
        assert citation["source"].endswith(SEED.name) and citation["page"] is None
        assert f"chars {citation['start']}-{citation['end']}" in shown.text and citation["quote"] in shown.text


def test_search_gives_ranked_passages_that_are_spans_of_the_document(talk: Conversation) -> None:
    assert not talk.search.is_error, talk.search.content
    result = talk.search.structured_content
    assert result is not None
    hits = result["hits"]
    assert [hit["rank"] for hit in hits] == [1, 2]
    for hit in hits:
        assert talk.text[hit["start"] : hit["end"]] == hit["text"]
    assert "Yevkurov" in hits[0]["text"]


def test_a_document_filter_keeps_search_within_it(talk: Conversation) -> None:
    assert talk.search_within.structured_content is not None, talk.search_within.content
    hits = talk.search_within.structured_content["hits"]
    assert hits and {hit["uri"] for hit in hits} == {talk.resources.resources[0].uri}
    assert talk.search_elsewhere.is_error
    assert "no document in the index matches '0000nosuchdoc000'" in str(talk.search_elsewhere.content)


def test_documents_are_listed_as_tool_results_and_as_readable_resources(talk: Conversation) -> None:
    assert talk.documents.structured_content is not None
    (doc,) = talk.documents.structured_content["documents"]
    assert doc["source"].endswith(SEED.name) and doc["chars"] == len(talk.text)
    assert talk.text == SEED.read_text(encoding="utf-8").replace("\r\n", "\n")
    assert [(r.uri, r.mime_type) for r in talk.resources.resources] == [(doc["uri"], "text/plain")]
    assert [t.uri_template for t in talk.templates.resource_templates] == ["qa://documents/{doc_id}"]


def test_an_unknown_document_is_a_not_found_error_that_says_where_to_look(talk: Conversation) -> None:
    assert talk.unknown.code == types.INVALID_PARAMS
    assert "no document '0000nosuchdoc000'" in talk.unknown.message
    assert "list_documents" in talk.unknown.message


def test_bad_input_is_a_tool_error_the_model_can_read(talk: Conversation) -> None:
    assert talk.empty_question.is_error
    assert "the question is empty" in str(talk.empty_question.content)
    assert talk.bad_k.is_error
    assert "greater than or equal to 1" in str(talk.bad_k.content)


# --- HTTP: the same key as `qa serve` ----------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong-key", f"Basic {KEY}"])
def test_http_refuses_requests_without_the_key(http_server: str, header: str | None) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    if header:
        headers["Authorization"] = header
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = httpx.post(f"{http_server}/mcp", json=body, headers=headers, timeout=30)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "unauthorized"
    assert KEY not in response.text


def test_http_liveness_needs_no_key(http_server: str) -> None:
    assert httpx.get(f"{http_server}/healthz", timeout=30).json() == {"status": "ok"}


# --- an index without documents ------------------------------------------------------------------------------


def test_an_empty_index_is_a_tool_error_saying_how_to_add_documents(tmp_path: Path, embedder: Embedder) -> None:
    server = build_server(QA(Settings(home=tmp_path / "home", collection=COLLECTION), embedder=embedder))

    async def run() -> tuple[types.CallToolResult, types.CallToolResult, types.CallToolResult]:
        async with Client(server) as client:
            return (
                await client.call_tool("ask", {"question": SEED_QUESTION}),
                await client.call_tool("search", {"query": "training"}),
                await client.call_tool("list_documents", {}),
            )

    ask, search, documents = anyio.run(run)
    for result in (ask, search):
        assert result.is_error
        assert "the index holds no documents" in str(result.content) and "qa ingest" in str(result.content)
    assert not documents.is_error and documents.structured_content == {"documents": []}


def test_a_taken_port_is_one_error_line_naming_the_options_qa_mcp_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qa.cli import main

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["--home", str(tmp_path / "home"), "mcp", "--port", str(port)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"error: cannot listen on 127.0.0.1:{port}") and "\n" not in error
    assert "choose another --port" in error and "--host" not in error  # qa mcp serves on loopback only
