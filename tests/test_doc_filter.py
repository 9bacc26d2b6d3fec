"""Asking within chosen documents: names (ids, paths, globs on the path) resolved by `QA.select`, and searches
and answers that stay within them, on embedded Chroma and on a real Chroma server.

The CLI, HTTP and UI sides of the same filter are tested with their interfaces (test_cli.py, test_cli_ask.py,
test_server.py, test_ui.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from qa import QA
from qa.api import path_matches
from qa.errors import EmptyIndexError, NotFoundError
from qa.ingest.pipeline import doc_id_for
from tests.conftest import MARKDOWN_DOC, SEED, SEED_QUESTION, MakeQA, write

LEAVE = "Staff take twenty-five days of paid leave a year; leave requests go to the team lead two weeks ahead.\n"
OLD_LEAVE = "In 2019 staff took eighteen days of paid leave a year, and leave requests went to human resources.\n"
LEAVE_NOTES = "Notes from the meeting: paid leave carried over from last year expires at the end of March.\n"
BAKED = "At what temperature is the loaf baked?"


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """docs/ with the seed article, a Markdown page, a handbook (one page a level deeper) and notes."""
    folder = tmp_path / "docs"
    write(folder / SEED.name, SEED.read_text(encoding="utf-8"))
    write(folder / "sourdough.md", MARKDOWN_DOC)
    write(folder / "handbook" / "leave.md", LEAVE)
    write(folder / "handbook" / "old" / "leave-2019.md", OLD_LEAVE)
    write(folder / "notes" / "leave.txt", LEAVE_NOTES)
    return folder


def ids(folder: Path, *names: str) -> set[str]:
    return {doc_id_for(folder / name) for name in names}


def selected(index: QA, *names: str) -> set[str]:
    return {info.doc_id for name in names for info in index.matching(name)}


# --- names: pure matching of a path against a glob ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("*.md", True),
        ("intro.md", True),
        ("handbook/*.md", True),  # matched against the end of the path
        ("docs/handbook/intro.md", True),
        ("./handbook/intro.md", True),
        ("hand*/in?ro.[lm]d", True),
        ("handbook/**", True),  # everything under a handbook folder, at any depth
        ("docs/**/intro.md", True),
        ("/home/ana/docs/**", True),  # a leading / anchors the pattern at the root
        ("**", True),
        ("docs/*.md", False),  # `*` stays within one folder name
        ("/docs/handbook/*.md", False),
        ("handbook", False),  # a folder's name alone is not its documents
        ("handbook/*.txt", False),
        ("ntro.md", False),  # whole folder names, never a part of one
        ("INTRO.md", False),  # case counts, as on the file system
        ("", False),
        ("/", False),
    ],
)
def test_path_matches_reads_a_glob_folder_by_folder(pattern: str, matches: bool) -> None:
    assert path_matches(pattern, "/home/ana/docs/handbook/intro.md") is matches


def test_a_long_run_of_double_stars_is_matched_quickly() -> None:
    # every `**` could try every split of the path; the table of reachable prefixes keeps it linear per part
    assert not path_matches("/".join(["**"] * 400 + ["x.md"]), "/" + "/".join(["a"] * 200) + "/y.md")
    assert path_matches("/".join(["**"] * 400 + ["y.md"]), "/" + "/".join(["a"] * 200) + "/y.md")


# --- names resolved against the index ----------------------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["embedded"])  # a listing is a listing; the stores are compared below
def test_a_document_is_named_by_id_path_or_glob(
    make_qa: MakeQA, library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = make_qa()
    assert index.ingest([library]).ok
    handbook = ids(library, "handbook/leave.md")
    assert selected(index, "handbook/*.md") == handbook
    assert selected(index, "handbook/**") == ids(library, "handbook/leave.md", "handbook/old/leave-2019.md")
    assert selected(index, "leave.*") == ids(library, "handbook/leave.md", "notes/leave.txt")
    assert selected(index, "*.txt") == ids(library, SEED.name, "notes/leave.txt")
    assert selected(index, str(library / "sourdough.md")) == ids(library, "sourdough.md")
    [leave] = handbook
    assert selected(index, leave) == handbook  # an id, as `qa docs` lists it
    monkeypatch.chdir(library / "handbook" / "old")
    assert selected(index, "../leave.md") == handbook  # a path from the working folder
    only = index.select(["*.md"], ["handbook/**"])
    assert only is not None and {d.doc_id for d in index.documents() if only.allows(d.doc_id)} == ids(
        library, "sourdough.md"
    )
    assert index.select() is None and index.select(None, []) is None  # no choice: every document


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_a_name_that_selects_nothing_says_which_and_where_to_look(make_qa: MakeQA, library: Path) -> None:
    index = make_qa()
    index.ingest([library])
    for choice in ({"docs": ["*.md", "handbook/*.pdf"]}, {"exclude_docs": ["handbook/*.pdf"]}):
        with pytest.raises(NotFoundError) as info:
            index.search("paid leave", **choice)
        assert "'handbook/*.pdf'" in str(info.value) and "`qa docs`" in str(info.value)
        with pytest.raises(NotFoundError, match="handbook/"):
            next(iter(index.ask_stream("How many days of paid leave?", backend="extractive", **choice)))
    with pytest.raises(NotFoundError, match="'leave'"):
        index.select(["leave"])  # a name is a whole file or folder name: leave.md is not "leave"


@pytest.mark.parametrize("store_kind", ["embedded"])
def test_names_see_documents_added_and_removed_since_the_last_search(make_qa: MakeQA, library: Path) -> None:
    index = make_qa()
    index.ingest([library / "handbook"])
    assert selected(index, "*.md") == ids(library, "handbook/leave.md", "handbook/old/leave-2019.md")
    index.ingest([library / "sourdough.md"])
    hits = index.search("sourdough starter", k=3, docs=["sourdough.md"])
    assert hits and {h.doc_id for h in hits} == ids(library, "sourdough.md")
    index.remove(str(library / "sourdough.md"))
    with pytest.raises(NotFoundError, match="'sourdough.md'"):
        index.search("sourdough starter", docs=["sourdough.md"])


def test_an_empty_index_is_said_before_any_name_is_read(make_qa: MakeQA) -> None:
    index = make_qa()
    with pytest.raises(EmptyIndexError):
        index.search("paid leave", docs=["*.md"])
    with pytest.raises(EmptyIndexError):
        index.ask("How many days of paid leave?", backend="extractive", docs=["*.md"])


# --- searches and answers stay within the choice, on both stores -------------------------------------------


def test_every_mode_fills_k_from_inside_the_filter(make_qa: MakeQA, library: Path) -> None:
    index = make_qa(chunk_tokens=48, chunk_overlap=8)
    index.ingest([library])
    seed = ids(library, SEED.name)
    chunks = {info.doc_id: info.chunks for info in index.documents()}
    k = 6
    assert chunks[next(iter(seed))] > k
    # the question's rarest words are the sourdough page's and the handbook's: unfiltered, they lead
    query = "sourdough starter paid leave and the North Korean troops in Russia"
    for mode in ("hybrid", "dense", "lexical"):
        everything = index.search(query, k=k, mode=mode)
        assert {h.doc_id for h in everything} - seed, mode  # other documents would be among the k
        within = index.search(query, k=k, mode=mode, docs=["*.txt"], exclude_docs=["notes/**"])
        assert len(within) == k, mode  # k hits all the same, every one from the seed article
        assert {h.doc_id for h in within} == seed, mode
        for hit in within:
            assert index.document(hit.doc_id).text[hit.start : hit.end] == hit.text
        scores = [h.score for h in within]
        assert scores == sorted(scores, reverse=True), mode


def test_answers_quote_only_the_chosen_documents(make_qa: MakeQA, library: Path) -> None:
    index = make_qa()
    index.ingest([library])
    within = index.ask(BAKED, backend="extractive", docs=["*.md"])
    assert not within.refused and {c.doc_id for c in within.citations} == ids(library, "sourdough.md")
    assert index.ask(SEED_QUESTION, backend="extractive", docs=["*.md"]).refused  # the seed article is left out
    left_out = index.ask(SEED_QUESTION, backend="extractive", exclude_docs=[f"docs/{SEED.name}"])
    assert left_out.refused and not left_out.citations
    answer = index.ask("How many days of paid leave do staff take?", backend="extractive", docs=["handbook/*.md"])
    assert {c.doc_id for c in answer.citations} == ids(library, "handbook/leave.md"), answer
    assert "twenty-five days" in answer.text
