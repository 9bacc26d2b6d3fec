"""Uploads through the chat app and the HTTP service share one folder, one set of rules and one lock.

The app side is its library functions (ui/library.py) over a real pipeline; the HTTP side is the real FastAPI
app served by uvicorn on loopback; both write to the same home and Chroma collection, as `qa ui` and `qa serve`
do when started on one home.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from qa import QA, DocInfo, IngestReport, Settings
from qa.server.app import create_app, running
from qa.uploads import Upload, Uploads, file_name, folder, lock_file, locked, refusal
from tests.conftest import MakeQA, MemoEmbedder
from ui.library import add_uploads, remove_document
from ui.pipeline import Pipeline

LIGHTHOUSE = b"Field notes\n\nThe lighthouse keeper on Skerry Island is Marta Lindqvist, who trims the wicks nightly.\n"
REEF = b"Reef survey\n\nThe reef off Skerry Island is home to a colony of grey seals counted every spring.\n"


@pytest.fixture
def qa(make_qa: MakeQA) -> QA:
    return make_qa(backend="extractive")


@pytest.fixture
def app_side(qa: QA, embedder: MemoEmbedder) -> Pipeline:
    """The chat app's pipeline: its own `QA` over the same home and collection as the HTTP service."""
    return Pipeline(QA(qa.settings, embedder=embedder))


@pytest.fixture
def http(qa: QA) -> Iterator[httpx.Client]:
    with running(create_app(qa)) as url, httpx.Client(base_url=url, timeout=60) as client:
        yield client


def post(http: httpx.Client, name: str, data: bytes) -> dict[str, list[str]]:
    response = http.post("/v1/documents", files=[("files", (name, data))])
    assert response.status_code == 200, response.text
    report: dict[str, list[str]] = response.json()
    return report


def test_a_file_uploaded_through_the_app_and_the_http_service_is_one_document(
    qa: QA, app_side: Pipeline, http: httpx.Client
) -> None:
    first = add_uploads(app_side, [("lighthouse.txt", LIGHTHOUSE)])
    assert [Path(s).name for s in first.added] == ["lighthouse.txt"], first
    assert post(http, "lighthouse.txt", LIGHTHOUSE)["unchanged"] == first.added

    added = post(http, "reef.txt", REEF)["added"]
    assert [Path(s).name for s in added] == ["reef.txt"]
    second = add_uploads(app_side, [("reef.txt", REEF)])
    assert second.unchanged == added and not second.added, second

    listed = http.get("/v1/documents").json()["documents"]
    assert sorted(Path(d["source"]).name for d in listed) == ["lighthouse.txt", "reef.txt"]
    assert sorted(p.name for p in folder(qa.settings).iterdir()) == ["lighthouse.txt", "reef.txt"]

    sentence = "The lighthouse keeper on Skerry Island is Marta Lindqvist"
    hits = http.post("/v1/search", json={"query": "Who keeps the lighthouse on Skerry Island?", "k": 5}).json()
    assert sum(sentence in hit["text"] for hit in hits["hits"]) == 1, hits
    answer = http.post("/v1/ask", json={"question": "Who is the lighthouse keeper on Skerry Island?"}).json()
    assert [c["quote"].count("Marta Lindqvist") for c in answer["citations"]] == [1], answer


def test_removing_through_either_side_removes_the_file_the_other_uploaded(
    qa: QA, app_side: Pipeline, http: httpx.Client
) -> None:
    add_uploads(app_side, [("lighthouse.txt", LIGHTHOUSE)])
    post(http, "reef.txt", REEF)
    docs = {Path(d.source).name: d for d in app_side.documents()}

    removed = http.delete(f"/v1/documents/{docs['lighthouse.txt'].doc_id}").json()
    assert [Path(s).name for s in removed["removed"]] == ["lighthouse.txt"]
    report = remove_document(app_side, docs["reef.txt"])
    assert [Path(s).name for s in report.removed] == ["reef.txt"]
    assert list(folder(qa.settings).iterdir()) == [] and qa.documents() == []


def test_a_file_the_app_saved_before_each_collection_had_a_folder_goes_with_its_document(
    qa: QA, app_side: Pipeline
) -> None:
    old = qa.settings.home / "uploads" / "notes.txt"  # where the app used to save every upload
    old.parent.mkdir(parents=True)
    old.write_bytes(LIGHTHOUSE)
    qa.ingest([old])
    [info] = qa.documents()
    remove_document(app_side, info)
    assert not old.exists() and qa.documents() == []


def test_the_lock_holds_across_processes_and_threads(qa: QA) -> None:
    settings = qa.settings
    holder = f"""
import sys
from pathlib import Path
from qa.settings import Settings
from qa.uploads import locked
with locked(Settings(home=Path({str(settings.home)!r}), collection={settings.collection!r})):
    print("held", flush=True)
    sys.stdin.readline()
"""
    child = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline() == "held\n"
        assert taken(lock_file(settings)), "another process holds the lock"
    finally:
        child.communicate("\n", timeout=60)
    assert child.returncode == 0
    assert not taken(lock_file(settings))

    with locked(settings):  # one thread holds it: another thread, with its own handle, cannot take it
        seen: list[bool] = []
        other = threading.Thread(target=lambda: seen.append(taken(lock_file(settings))))
        other.start()
        other.join()
        assert seen == [True]
    report = Uploads(qa).add([Upload("lighthouse.txt", LIGHTHOUSE)])  # free again
    assert [Path(s).name for s in report.added] == ["lighthouse.txt"]


def taken(path: Path) -> bool:
    """Whether someone holds the lock on `path`, asked without waiting."""
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


class FullDisk:
    """An index whose every ingest fails (as when its disk is full), over a real `QA` for the rest."""

    def __init__(self, qa: QA) -> None:
        self.qa = qa
        self.settings = qa.settings

    def documents(self) -> list[DocInfo]:
        return self.qa.documents()

    def ingest(self, paths: Sequence[Path]) -> IngestReport:
        return IngestReport(failed=[(str(path), "no space left on the device") for path in paths])

    def remove(self, doc_id: str) -> IngestReport:
        return self.qa.remove(doc_id)


def test_a_file_that_fails_to_ingest_puts_back_what_it_replaced(qa: QA) -> None:
    uploads = Uploads(qa)
    uploads.add([Upload("lighthouse.txt", LIGHTHOUSE)])
    leftover = folder(qa.settings) / ".upload-crashed.txt"  # a staging file from a process that died
    leftover.write_bytes(b"half a file")

    report = Uploads(FullDisk(qa)).add([Upload("lighthouse.txt", REEF), Upload("reef.txt", REEF)])
    assert [(Path(s).name, r) for s, r in report.failed] == [
        ("lighthouse.txt", "no space left on the device"),
        ("reef.txt", "no space left on the device"),
    ]
    assert sorted(p.name for p in folder(qa.settings).iterdir()) == ["lighthouse.txt"]
    assert (folder(qa.settings) / "lighthouse.txt").read_bytes() == LIGHTHOUSE
    assert uploads.add([Upload("lighthouse.txt", LIGHTHOUSE)]).unchanged, "the folder still matches the index"


def test_a_bad_new_version_never_replaces_the_good_one(qa: QA) -> None:
    uploads = Uploads(qa)
    uploads.add([Upload("lighthouse.txt", LIGHTHOUSE)])
    report = uploads.add([Upload("lighthouse.txt", b"caf\xe9 au lait\n"), Upload(None, LIGHTHOUSE)])
    assert [(Path(s).name, r.split(" (")[0]) for s, r in report.failed] == [
        ("lighthouse.txt", "not valid UTF-8"),
        ("(no name)", "not a usable file name; rename the file and upload it again"),
    ]
    assert sorted(p.name for p in folder(qa.settings).iterdir()) == ["lighthouse.txt"]
    assert (folder(qa.settings) / "lighthouse.txt").read_bytes() == LIGHTHOUSE


@pytest.mark.parametrize(
    ("raw", "saved"),
    [
        ("notes.txt", "notes.txt"),
        ("../../notes.txt", "notes.txt"),
        ("C:\\Users\\me\\notes.txt", "notes.txt"),
        (".hidden.md", "hidden.md"),
        ("tab\there.txt", "tabhere.txt"),
        ("  spaced.txt ", "spaced.txt"),
        ("..", None),
        ("", None),
        (None, None),
        ("x" * 197 + ".txt", None),
    ],
)
def test_file_names_keep_only_their_last_printable_part(raw: str | None, saved: str | None) -> None:
    assert file_name(raw) == saved


def test_refusals_say_what_to_do() -> None:
    supported = ".docx, .epub, .htm, .html, .markdown, .md, .pdf, .pptx, .txt"
    assert refusal("tool.exe", 2, 1024) == f"unsupported file type .exe (supported: {supported})"
    assert refusal("README", 2, 1024) == f"unsupported file type (no extension) (supported: {supported})"
    assert refusal("big.TXT", 3 * 1024 * 1024, 2 * 1024 * 1024) == (
        "file is too large (3 MB; the limit is 2 MB; raise it with QA_MAX_FILE_MB)"
    )
    assert refusal("/", 2, 1024) == "not a usable file name; rename the file and upload it again"
    assert refusal("notes.txt", 1024, 1024) is None


def test_uploads_go_to_one_folder_per_collection(tmp_path: Path) -> None:
    one, two = Settings(home=tmp_path, collection="one"), Settings(home=tmp_path, collection="two")
    assert folder(one) == tmp_path / "uploads" / "one" and folder(two) == tmp_path / "uploads" / "two"
    assert lock_file(one).parent == tmp_path / "uploads" and lock_file(one) != lock_file(two)
