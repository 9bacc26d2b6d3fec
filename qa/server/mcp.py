"""`qa mcp`: the index as a Model Context Protocol server, for assistants and editors that reach local tools.

Tools `ask`, `search` and `list_documents`, and each document as the resource `qa://documents/<doc_id>`, whose
text is what every citation's offsets point into. Served over stdio (what desktop clients spawn) or, with a port,
streamable HTTP on loopback behind the same bearer-key guard as `qa serve`. Everything goes through one `QA`.
A failure a caller can act on (an empty index, an overlong question, a dead LLM endpoint) is a tool error whose
text says what to do; an unknown document is a resource-not-found protocol error.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import anyio.to_thread
import mcp_types as types
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from qa.api import QA
from qa.errors import NotFoundError, QAError, redact
from qa.records import Answer, AnswerJSON, CitationJSON, DocInfo, DocInfoJSON, Hit, HitJSON
from qa.server.wire import wire_model
from qa.settings import Settings

__all__ = ["build_server", "document_uri", "run"]

URI_PREFIX = "qa://documents/"
INSTRUCTIONS = (
    "Answers questions from the user's own documents. `ask` returns a short answer whose every citation is a "
    "verbatim quote located by the server (document, character offsets, quote); quote those citations as they "
    "are. `search` returns ranked passages; `list_documents` names the documents, each readable as the resource "
    "qa://documents/<doc_id>, where text[start:end] is the quote of a citation with those offsets."
)


def document_uri(doc_id: str) -> str:
    return f"{URI_PREFIX}{doc_id}"


# --- the structured results -----------------------------------------------------------------------------


class CitationOut(wire_model(CitationJSON)):  # type: ignore[misc]
    uri: str = Field(description="the document as a resource: its text[start:end] == quote")


class AskOut(wire_model(AnswerJSON)):  # type: ignore[misc]
    citations: list[CitationOut]


class HitOut(wire_model(HitJSON)):  # type: ignore[misc]
    rank: int
    uri: str = Field(description="the document as a resource: its text[start:end] == text")


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]


class DocumentOut(wire_model(DocInfoJSON)):  # type: ignore[misc]
    uri: str = Field(description="the document as a resource")


class DocumentsOut(BaseModel):
    documents: list[DocumentOut]


def _resource(d: DocInfo) -> types.Resource:
    return types.Resource(
        uri=document_uri(d.doc_id), name=d.doc_id, title=d.source, mime_type="text/plain",
        description=f"{d.source}: {d.chars} characters; citations' offsets point into this text",
    )  # fmt: skip


def _ask_text(answer: Answer) -> str:
    """The answer as a model reads it: the text, then each citation with where its quote stands."""
    lines = [answer.text]
    lines += [f"{c.line()} ({document_uri(c.doc_id)})" for c in answer.citations]
    lines += [f"(not supported by the documents: {sentence})" for sentence in answer.unsupported]
    return "\n".join(lines)


def _search_text(hits: list[Hit]) -> str:
    if not hits:
        return "no passages match the query"
    return "\n\n".join(f"[{rank}] {h.where()} ({document_uri(h.doc_id)})\n{h.text}" for rank, h in enumerate(hits, 1))


def _result(out: BaseModel, text: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=out.model_dump(mode="json")
    )


# --- the server -------------------------------------------------------------------------------------------

K = Annotated[int | None, Field(ge=1, le=100, description="how many passages (default: the index's QA_K)")]
DOCS = Annotated[list[str] | None, Field(description="only from these documents (doc_id); default: all")]


class _Tools:
    """The tools' bodies over one `QA`. Each runs in a worker thread (the SDK's way with plain functions)."""

    def __init__(self, qa: QA, secrets: tuple[str | None, ...]) -> None:
        self.qa = qa
        self._secrets = secrets
        # a llama.cpp model is not thread-safe: its answers take turns
        self._turn: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if qa.settings.resolved_backend() == "llama" else contextlib.nullcontext()
        )

    @contextlib.contextmanager
    def _as_tool_errors(self) -> Iterator[None]:
        try:
            yield
        except QAError as exc:
            raise ToolError(redact(str(exc), *self._secrets)) from None

    def ask(self, question: str, k: K = None, docs: DOCS = None) -> Annotated[types.CallToolResult, AskOut]:
        """Answer a question from the documents. Every citation quotes the document verbatim, with its offsets;
        `refused` is true (and the answer says so) when the documents don't hold the answer."""
        with self._as_tool_errors(), self._turn:
            answer: Answer = self.qa.ask(question, k=k, docs=docs)
        cites = [{**c.to_dict(), "uri": document_uri(c.doc_id)} for c in answer.citations]
        return _result(AskOut(**{**answer.to_dict(), "citations": cites}), _ask_text(answer))

    def search(
        self, query: str, k: K = None, mode: Literal["hybrid", "dense", "lexical"] = "hybrid", docs: DOCS = None
    ) -> Annotated[types.CallToolResult, SearchOut]:
        """The passages that best match the query, best first, each with its document and character offsets."""
        if not query.strip():
            raise ToolError("the query is empty")
        with self._as_tool_errors():
            hits = self.qa.search(query, k=k, mode=mode, docs=docs)
        out = [HitOut(**h.to_dict(), rank=rank, uri=document_uri(h.doc_id)) for rank, h in enumerate(hits, start=1)]
        return _result(SearchOut(query=query, hits=out), _search_text(hits))

    def list_documents(self) -> Annotated[types.CallToolResult, DocumentsOut]:
        """The documents in the index: id, source path, chunks, characters, and the resource URI of each."""
        with self._as_tool_errors():
            docs = self.qa.documents()
        out = DocumentsOut(documents=[DocumentOut(**d.to_dict(), uri=document_uri(d.doc_id)) for d in docs])
        text = "\n".join(f"{d.doc_id}  {d.source}  ({d.chars} characters, {d.uri})" for d in out.documents)
        return _result(out, text or "the index holds no documents; add some with `qa ingest <folder>`")

    def read(self, doc_id: str) -> str:
        try:
            return self.qa.document(doc_id).text
        except NotFoundError:
            raise ResourceNotFoundError(
                f"no document {doc_id!r} in the index; the list_documents tool or resources/list names them"
            ) from None
        except QAError as exc:  # the store failed, or holds the document only in part
            raise ResourceError(redact(str(exc), *self._secrets)) from None


class _Server(MCPServer[Any]):
    """An MCPServer whose resource list is the index's documents as they are now (not fixed at start)."""

    def __init__(self, tools: _Tools) -> None:
        super().__init__("qa", instructions=INSTRUCTIONS, log_level="WARNING")
        self._qa = tools.qa

    async def list_resources(self) -> list[types.Resource]:
        docs = await anyio.to_thread.run_sync(self._qa.documents)
        return [_resource(d) for d in docs]


def build_server(qa: QA, *, api_key: str | None = None) -> MCPServer[Any]:
    """The MCP server over `qa`: three tools and the documents as resources."""
    tools = _Tools(qa, (qa.settings.openai_api_key, api_key))
    server = _Server(tools)
    server.add_tool(tools.ask, name="ask", title="Ask the documents")
    server.add_tool(tools.search, name="search", title="Search the documents")
    server.add_tool(tools.list_documents, name="list_documents", title="List the documents")
    server.resource(
        f"{URI_PREFIX}{{doc_id}}", name="document", mime_type="text/plain",
        description="A document's whole text, as stored: citations' start:end offsets point into it",
    )(tools.read)  # fmt: skip
    return server


# --- running it -------------------------------------------------------------------------------------------


def _quiet_logs() -> None:
    """Warnings and errors on stderr, and nothing below them: the SDK would otherwise install a root handler
    that also prints the debug records some libraries log at their own level."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(levelname)s %(name)s: %(message)s")


def _open(settings: Settings) -> QA:
    """The pipeline, loaded before serving; anything a library prints meanwhile goes to stderr, never onto the
    protocol's stdout."""
    with contextlib.redirect_stdout(sys.stderr):
        qa = QA(settings)
        with contextlib.suppress(QAError):  # an empty index still serves: its tools say how to fill it
            qa.warm()
    return qa


def run(settings: Settings, *, port: int | None = None, api_key: str | None = None) -> None:
    """Serve over stdio, or with `port` over streamable HTTP at http://127.0.0.1:<port>/mcp (bearer `api_key`
    required when given). Returns when the client closes stdin, or on Ctrl-C."""
    from qa.server.app import listen

    # a taken port fails before anything loads
    sock = None if port is None else listen("127.0.0.1", port, "choose another --port")
    _quiet_logs()
    qa = _open(settings)
    server = build_server(qa, api_key=api_key)
    where = "stdio" if sock is None else f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    auth = "" if sock is None else f"; auth {'on' if api_key else 'off (set QA_API_KEY to require a key)'}"
    print(f"qa mcp: {len(qa.documents())} document(s) in {qa.where()}; backend {settings.resolved_backend()}; "
          f"serving on {where}{auth}", file=sys.stderr)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):
        if sock is None:
            server.run("stdio")
        else:
            _serve_http(server, sock, api_key)


async def _healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _serve_http(server: MCPServer[Any], sock: Any, api_key: str | None) -> None:
    import uvicorn

    from qa.server.guard import Guard

    mcp_app = server.streamable_http_app()
    mcp_app.router.routes.append(Route("/healthz", _healthz, methods=["GET"]))  # liveness; Guard lets it through
    app = Guard(mcp_app, api_key=api_key, max_body=DEFAULT_MAX_REQUEST_BODY_SIZE)
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
