"""Two `qa serve` processes over one Chroma server (`chroma run`), as replicas behind a load balancer would be.

What is written through one process is what the other serves: a document uploaded through one is found through
the other by dense and by lexical search (and quoted in its answers), and a document removed through one is gone
from the other's listing and results. Each process has its own home (its own BM25 cache), as replicas on separate
machines would. The other process must see a change within `DEADLINE` seconds (the bound the README states): a
bound on correctness, polled, never a measure of speed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from qa import QA, Settings
from qa.index.embedders import Embedder
from tests.conftest import SEED
from tests.processes import qa_serve

pytestmark = [pytest.mark.server, pytest.mark.slow]  # a Chroma server and two `qa serve` processes

DEADLINE = 10.0  # seconds one process may take to serve what the other wrote
T = TypeVar("T")

DENSE_QUERY = "Who keeps the lamp of the lighthouse burning through the night?"  # none of the note's rare words


def note(name: str) -> str:
    """A short document on a topic the seed article never touches, naming a place `name` nothing else names."""
    return (
        f"The {name} lighthouse stands on a granite point at the mouth of the fjord.\n\n"
        f"Ingrid Solberg keeps the lamp of the {name} lighthouse burning through every night of the winter, "
        "and she logs each passing fishing boat in a ledger kept beside the lens.\n"
    )


def eventually(check: Callable[[], T | None], what: str) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` if `DEADLINE` passes first."""
    deadline = time.monotonic() + DEADLINE
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {DEADLINE:g} s")
        time.sleep(0.1)


def search(http: httpx.Client, query: str, mode: str, k: int = 5) -> list[dict[str, Any]]:
    response = http.post("/v1/search", json={"query": query, "mode": mode, "k": k})
    assert response.status_code == 200, response.text
    return list(response.json()["hits"])


def listed(http: httpx.Client) -> dict[str, str]:
    """The documents a process lists, as {source file name: doc_id}."""
    response = http.get("/v1/documents")
    assert response.status_code == 200, response.text
    return {Path(d["source"]).name: d["doc_id"] for d in response.json()["documents"]}


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, chroma_server: str, embedder: Embedder
) -> Iterator[dict[str, httpx.Client]]:
    """Two `qa serve` processes (extractive backend) on one fresh collection of the Chroma server, which holds the
    seed article; each started before anything else is written, so each has built its BM25 index already."""
    folder = tmp_path_factory.mktemp("many-servers")
    collection = "many-" + uuid.uuid4().hex[:10]
    seeding = Settings(home=folder / "seeding", chroma_url=chroma_server, collection=collection)
    assert QA(seeding, embedder=embedder).ingest([SEED]).added
    shared = {"QA_CHROMA_URL": chroma_server, "QA_COLLECTION": collection, "QA_BACKEND": "extractive"}
    with (
        qa_serve(folder / "one", "qa serve one", QA_HOME=str(folder / "one" / ".qa"), **shared) as one,
        qa_serve(folder / "two", "qa serve two", QA_HOME=str(folder / "two" / ".qa"), **shared) as two,
        httpx.Client(base_url=one, timeout=30) as first,
        httpx.Client(base_url=two, timeout=30) as second,
    ):
        yield {"one": first, "two": second}


@pytest.mark.parametrize(("writer", "reader"), [("one", "two"), ("two", "one")])
def test_a_document_uploaded_through_one_process_is_found_through_the_other(
    servers: dict[str, httpx.Client], writer: str, reader: str
) -> None:
    name = f"Skarvholm{uuid.uuid4().hex[:6]}"  # a word in no other document, whatever ran before
    file_name, text = f"{name.lower()}.txt", note(name)
    assert search(servers[reader], name, "lexical") == []  # the reader's BM25 index is built and lacks it
    assert search(servers[writer], name, "lexical") == []

    response = servers[writer].post("/v1/documents", files={"files": (file_name, text.encode(), "text/plain")})
    assert response.status_code == 200, response.text
    assert [Path(s).name for s in response.json()["added"]] == [file_name]

    doc_id = eventually(lambda: listed(servers[reader]).get(file_name), f"{reader} lists the new document")
    try:
        found_through(servers[reader], reader, doc_id, name, text)
    finally:
        servers[writer].delete(f"/v1/documents/{doc_id}")  # so that the next test's note is the only one


def found_through(http: httpx.Client, reader: str, doc_id: str, name: str, text: str) -> None:
    """The reader finds the document first by dense search and by lexical search, and answers from it."""
    dense = eventually(
        lambda: [h for h in search(http, DENSE_QUERY, "dense", k=1) if h["doc_id"] == doc_id],
        f"{reader}'s dense search finds the new document first",
    )
    lexical = eventually(
        lambda: [h for h in search(http, name, "lexical") if h["doc_id"] == doc_id],
        f"{reader}'s lexical search finds the new document",
    )
    for hit in (*dense, *lexical):
        assert hit["text"] == text[hit["start"] : hit["end"]] and name in hit["text"]
    answer = http.post("/v1/ask", json={"question": f"Who keeps the lamp of the {name} lighthouse?"})
    assert answer.status_code == 200, answer.text
    assert not answer.json()["refused"] and "Ingrid Solberg" in answer.json()["answer"]
    assert {c["doc_id"] for c in answer.json()["citations"]} == {doc_id}


@pytest.mark.parametrize(("writer", "remover"), [("one", "two"), ("two", "one")])
def test_a_document_removed_through_one_process_is_gone_from_the_other(
    servers: dict[str, httpx.Client], writer: str, remover: str
) -> None:
    name = f"Lodvik{uuid.uuid4().hex[:6]}"
    file_name = f"{name.lower()}.txt"
    response = servers[writer].post("/v1/documents", files={"files": (file_name, note(name).encode(), "text/plain")})
    assert response.status_code == 200, response.text
    doc_id = eventually(lambda: listed(servers[remover]).get(file_name), f"{remover} lists the new document")
    assert [h["doc_id"] for h in search(servers[writer], name, "lexical")] == [doc_id]  # found before removal
    assert doc_id in {h["doc_id"] for h in search(servers[writer], DENSE_QUERY, "dense")}

    removed = servers[remover].delete(f"/v1/documents/{doc_id}")
    assert removed.status_code == 200, removed.text
    assert removed.json()["chunks_removed"] > 0

    def gone() -> bool:
        hits = search(servers[writer], name, "lexical") + search(servers[writer], DENSE_QUERY, "dense", k=20)
        return file_name not in listed(servers[writer]) and all(h["doc_id"] != doc_id for h in hits)

    eventually(gone, f"{writer} no longer lists or finds the removed document")
    assert servers[writer].delete(f"/v1/documents/{doc_id}").status_code == 404  # nor can remove it again
    assert search(servers[writer], "North Korean troops", "hybrid")  # the rest of the index is still served
