"""The chat app's flows, headless with `streamlit.testing.v1.AppTest`, over a real index (MiniLM + Chroma).

Each test points `QA_HOME` at its own folder; the default backend is extractive (no `OPENAI_*` in the
environment). LLM answers come from the OpenAI-compatible fake server on loopback (tests/fake_openai.py).
"""

from __future__ import annotations

import html
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from qa import QA, Settings
from qa.records import Answer, Turn
from tests.conftest import SEED, SEED_QUESTION
from tests.fake_openai import FakeOpenAI, serve
from tests.processes import free_port
from tests.records import make_citation
from ui import render
from ui.library import add_uploads, remove_document
from ui.pipeline import Pipeline, build_settings, history, pipeline_key, store_key

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
REFUSAL_QUESTION = "What is a good recipe for sourdough bread?"
SECRET = "sk-test-" + uuid.uuid4().hex
NOTES = b"Field notes\n\nThe lighthouse keeper on Skerry Island is Marta Lindqvist, who trims the wicks every night.\n"


# --- fixtures ----------------------------------------------------------------------------------------


def _environment(monkeypatch: pytest.MonkeyPatch, home: Path, collection: str) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "QA_BACKEND", "QA_LLM_MODEL", "QA_K", "QA_CHROMA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QA_HOME", str(home))
    monkeypatch.setenv("QA_COLLECTION", collection)


@pytest.fixture
def empty_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app over an empty index of its own."""
    _environment(monkeypatch, tmp_path / "home", "ui-" + uuid.uuid4().hex[:10])
    return AppTest.from_file(APP, default_timeout=60).run()


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An index holding the seed article, shared by the tests that only read it."""
    settings = Settings(home=tmp_path_factory.mktemp("ui-seeded") / "home", collection="ui-" + uuid.uuid4().hex[:10])
    QA(settings).ingest([SEED])
    return settings.home, settings.collection


@pytest.fixture
def app(seeded_home: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app over the seeded index."""
    _environment(monkeypatch, *seeded_home)
    return AppTest.from_file(APP, default_timeout=60).run()


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with serve() as server:
        yield server


# --- helpers -------------------------------------------------------------------------------------------


def ask(at: AppTest, question: str) -> Any:
    """Ask through the chat input; the last chat message (the reply)."""
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at.chat_message[-1]


def shown(elements: Any) -> list[str]:
    """The visible text of Markdown-ish elements (the app writes document text as character references)."""
    return [html.unescape(e.value) for e in elements]


def everything(at: AppTest) -> str:
    """Every piece of text and HTML the app sent to the page, as one string."""
    return "\n".join(str(node.proto) for node in _walk(at._tree) if hasattr(node, "proto"))


def _walk(node: Any) -> Iterator[Any]:
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def use_openai(at: AppTest, url: str, key: str = SECRET) -> None:
    at.selectbox(key="backend").set_value("openai")
    at.text_input(key="llm_model").set_value("fake-model")
    at.text_input(key="base_url").set_value(url)
    at.text_input(key="api_key").set_value(key)
    at.run()
    assert not at.exception, at.exception


# --- empty state and the seed button --------------------------------------------------------------------


def test_empty_index_says_what_to_do_and_the_seed_button_ingests_the_article(empty_app: AppTest) -> None:
    at = empty_app
    assert not at.exception, at.exception
    [hint] = shown(at.main.info)
    assert "library is empty" in hint and "seeds/" in hint and "Upload" in hint
    [where] = [c for c in shown(at.main.caption) if c.startswith("Looked in")]
    home, collection = os.environ["QA_HOME"], os.environ["QA_COLLECTION"]
    assert (
        where == f"Looked in home {home}, collection '{collection}'; `qa ingest <folder>` fills the same index "
        "from the command line."
    )
    assert at.chat_input[0].proto.disabled
    assert "No documents yet." in shown(at.sidebar.caption)

    at.button(key="ingest-seeds").click().run()
    assert not at.exception, at.exception
    assert "north-korean-troops-in-kursk.txt" in " ".join(shown(at.sidebar.markdown))
    assert any(c.startswith("4 chunks") for c in shown(at.sidebar.caption))
    assert shown(at.sidebar.success) == ["Added: north-korean-troops-in-kursk.txt"]
    assert not at.main.info, "the empty-state hint stays away once there are documents"
    assert not at.chat_input[0].proto.disabled


def test_a_question_after_the_last_document_went_says_the_library_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=tmp_path / "home", collection="ui-" + uuid.uuid4().hex[:10])
    other_session = QA(settings)
    other_session.ingest([SEED])
    _environment(monkeypatch, settings.home, settings.collection)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not ask(at, SEED_QUESTION).info  # answered
    other_session.remove(str(SEED))  # in the middle of the conversation
    reply = ask(at, SEED_QUESTION)
    [warning] = shown(reply.warning)
    assert warning.startswith("**The library is empty: there is nothing to answer from.** Add documents in the sidebar")
    assert f"home {settings.home}, collection '{settings.collection}'" in warning
    assert not reply.info and not reply.error, "not a refusal, and not a backend error"
    assert "answer" not in at.session_state["messages"][-1]
    [hint] = shown(at.main.info)
    assert "library is empty" in hint  # the empty state shows too


# --- asking ---------------------------------------------------------------------------------------------


def test_the_seed_question_is_answered_with_a_highlighted_citation(app: AppTest) -> None:
    reply = ask(app, SEED_QUESTION)
    [text] = shown(reply.markdown)
    assert "Yunus-bek Yevkurov" in text and text.endswith("[1].")
    [source] = reply.expander
    label = html.unescape(source.label)
    assert label.startswith("**[1]** “Moscow has appointed Russian Deputy Defence Minister Yunus-bek Yevkurov")
    assert "north-korean-troops-in-kursk.txt · chars 699-863" in label
    [passage] = source.get("html")
    assert "<mark>Moscow has appointed Russian Deputy Defence Minister Yunus-bek Yevkurov" in passage.value
    assert "HUR said that some 12 000" in passage.value, "the passage shows the text around the quote"
    assert any("extractive · no model · " in c for c in shown(reply.caption))

    source.toggle[0].set_value(True).run()
    [_, document] = app.chat_message[-1].expander[0].get("html")
    assert "id='qa-" in document.value and "-mark'>Moscow has appointed" in document.value
    assert "Putin’s North Korean soldiers" in document.value and "working to confirm them." in document.value
    assert "scrollTop" in document.value and document.proto.unsafe_allow_javascript

    app.run()  # a rerun keeps the conversation and the opened document
    assert len(app.chat_message) == 2 and app.chat_message[-1].expander[0].toggle[0].value


def test_a_follow_up_builds_on_the_earlier_turns(app: AppTest) -> None:
    ask(app, SEED_QUESTION)
    reply = ask(app, "What is his title?")
    assert "Deputy Defence Minister Yunus-bek Yevkurov" in shown(reply.markdown)[0]
    [meta] = [c for c in shown(reply.caption) if c.startswith("extractive")]
    assert f"searched for “What is his title? ({SEED_QUESTION})”" in meta
    assert len(app.chat_message) == 4


def test_a_refusal_looks_different_from_an_answer(app: AppTest) -> None:
    reply = ask(app, REFUSAL_QUESTION)
    [refusal] = shown(reply.info)
    assert refusal.startswith("**The documents don't say.**")
    assert not reply.markdown and not reply.expander, "a refusal shows no answer text and no sources"


def test_new_chat_clears_the_conversation(app: AppTest) -> None:
    ask(app, SEED_QUESTION)
    assert len(app.chat_message) == 2
    app.button(key="new-chat").click().run()
    assert not app.chat_message and app.session_state["messages"] == []
    reply = ask(app, "What is his title?")  # no earlier turns now: the question is searched as it stands
    assert "searched for" not in " ".join(shown(reply.caption))


# --- settings ------------------------------------------------------------------------------------------


def test_settings_change_the_backend_and_the_number_of_passages(app: AppTest, fake: FakeOpenAI) -> None:
    fake.reply("Yunus-bek Yevkurov oversees the training of the troops [1].")
    use_openai(app, fake.url)
    app.slider(key="k").set_value(2).run()
    reply = ask(app, SEED_QUESTION)
    assert any(c.startswith("openai · fake-model · ") for c in shown(reply.caption))
    assert "Yevkurov" in html.unescape(reply.expander[0].label)
    assert re.findall(r"^\[(\d+)\]", fake.user_prompt(), re.M) == ["1", "2"], "k=2 passages reach the model"

    app.selectbox(key="backend").set_value("extractive").run()
    reply = ask(app, SEED_QUESTION)
    assert any(c.startswith("extractive · no model · ") for c in shown(reply.caption))
    assert len(fake.chats) == 1, "the extractive backend calls no model"


def test_strict_in_the_sidebar_refuses_an_answer_the_extractive_backend_is_unsure_of(app: AppTest) -> None:
    middling = "What do Moscow and Pyongyang pledge to each other if one of them is attacked?"
    assert not ask(app, middling).info, "answered as usual"
    app.toggle(key="strict").set_value(True).run()
    [refusal] = shown(ask(app, middling).info)
    assert refusal.startswith("**The documents don't say.**")
    assert "Yevkurov" in html.unescape(ask(app, SEED_QUESTION).expander[0].label), "a sure answer still comes"


def test_the_api_key_is_used_but_never_shown(app: AppTest, fake: FakeOpenAI) -> None:
    fake.reply("Yunus-bek Yevkurov oversees the training of the troops [1].")
    use_openai(app, fake.url)
    ask(app, SEED_QUESTION)
    assert fake.chats, "the request reached the endpoint from the settings"
    page = everything(app)
    assert SECRET not in page, "the API key must not be sent back to the page"
    assert app.text_input(key="api_key").proto.type == app.text_input(key="api_key").proto.PASSWORD


def test_unsupported_sentences_are_marked(app: AppTest, fake: FakeOpenAI) -> None:
    fake.reply("Yunus-bek Yevkurov oversees the training of the troops [1]. The troops also learned to fly dragons.")
    use_openai(app, fake.url)
    reply = ask(app, SEED_QUESTION)
    [text] = shown(reply.markdown)
    assert ":orange-background[⚠ The troops also learned to fly dragons.]" in text
    assert any("not backed by any quote" in c for c in shown(reply.caption))


def test_a_backend_error_is_a_chat_message_with_the_next_step(app: AppTest, fake: FakeOpenAI) -> None:
    fake.fail_next(500, times=3)  # the first try and both retries
    use_openai(app, fake.url)
    reply = ask(app, SEED_QUESTION)
    [error] = shown(reply.error)
    assert "Could not answer." in error and f"the LLM endpoint {fake.url} failed with HTTP 500" in error
    assert any("Change the backend settings" in c for c in shown(reply.caption))
    assert not app.exception

    app.selectbox(key="backend").set_value("extractive").run()  # the conversation goes on
    reply = ask(app, SEED_QUESTION)
    assert "Yevkurov" in shown(reply.markdown)[0]


# --- library: upload and remove ---------------------------------------------------------------------------


def test_upload_a_good_and_a_bad_file_then_remove_one(app: AppTest, seeded_home: tuple[Path, str]) -> None:
    home, collection = seeded_home
    uploads = home / "uploads" / collection  # the folder the HTTP service saves this collection's uploads in
    uploader = app.sidebar.file_uploader[0]
    assert sorted(uploader.allowed_type) == [
        ".docx",
        ".epub",
        ".htm",
        ".html",
        ".markdown",
        ".md",
        ".pdf",
        ".pptx",
        ".txt",
    ]
    uploader.upload("notes.txt", NOTES, "text/plain").upload("broken.txt", b"caf\xe9 au lait\n", "text/plain")
    app.run()
    assert not app.exception, app.exception
    assert "Added: notes.txt" in shown(app.sidebar.success)
    [error] = shown(app.sidebar.error)
    assert error.startswith("**broken.txt** was not added: not valid UTF-8 (byte 0xe9 at offset 3)")
    names = " ".join(shown(app.sidebar.markdown))
    assert "notes.txt" in names and "broken.txt" not in names
    assert (uploads / "notes.txt").read_bytes() == NOTES
    assert not (uploads / "broken.txt").exists(), "a failed upload leaves nothing behind"
    assert not app.sidebar.file_uploader[0].value, "the uploader is empty again"

    reply = ask(app, "Who is the lighthouse keeper on Skerry Island?")
    assert "Marta Lindqvist" in shown(reply.markdown)[0]
    assert "notes.txt" in html.unescape(reply.expander[0].label)

    app.sidebar.file_uploader[0].upload("notes.txt", NOTES, "text/plain")
    app.run()
    assert "Already in the library, unchanged: notes.txt" in shown(app.sidebar.info)

    [doc_id] = [d.doc_id for d in QA(Settings(home=home, collection=seeded_home[1])).documents() if "notes" in d.source]
    app.button(key=f"remove-{doc_id}").click().run()
    assert not app.exception, app.exception
    assert "Removed: notes.txt" in shown(app.sidebar.success)
    assert "notes.txt" not in " ".join(shown(app.sidebar.markdown))
    assert not (uploads / "notes.txt").exists()
    assert "north-korean-troops-in-kursk.txt" in " ".join(shown(app.sidebar.markdown))


def test_document_text_cannot_inject_markup(app: AppTest, seeded_home: tuple[Path, str]) -> None:
    hostile = (
        b"The vault code is <b>1234</b> <img src=x onerror=alert(1)> ![pixel](http://tracker.invalid/p.png) "
        b"and [click](javascript:alert(2)) $x^2$ :red[alarm].\n"
    )
    app.sidebar.file_uploader[0].upload("hostile.txt", hostile, "text/plain")
    app.run()
    reply = ask(app, "What is the vault code?")
    [text] = reply.markdown
    assert html.unescape(text.value).startswith("The vault code is <b>1234</b> <img src=x")
    for raw in ("<b>", "<img", "![", "](", "$x", ":red["):
        assert raw not in text.value, f"{raw!r} reached the Markdown unescaped"
    passage = reply.expander[0].get("html")[0].value
    assert "&lt;img src=x onerror=alert(1)&gt;" in passage and "<img" not in passage and "<b>" not in passage
    remove = [
        d for d in QA(Settings(home=seeded_home[0], collection=seeded_home[1])).documents() if "hostile" in d.path
    ]
    app.button(key=f"remove-{remove[0].doc_id}").click().run()  # leave the shared index as it was


# --- asking within chosen documents ------------------------------------------------------------------------


def test_questions_stay_within_the_documents_chosen_in_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    settings = Settings(home=tmp_path / "home", collection="ui-" + uuid.uuid4().hex[:10])
    notes = tmp_path / "field" / "notes.txt"
    notes.parent.mkdir()
    notes.write_bytes(NOTES)
    assert QA(settings, embedder=embedder).ingest([SEED, notes]).ok
    ids = {Path(d.source).name: d.doc_id for d in QA(settings, embedder=embedder).documents()}
    _environment(monkeypatch, settings.home, settings.collection)
    at = AppTest.from_file(APP, default_timeout=60).run()
    picker = at.sidebar.multiselect(key="scope")
    assert sorted(picker.options) == ["north-korean-troops-in-kursk.txt", "notes.txt"] and picker.value == []

    picker.set_value([ids["notes.txt"]]).run()
    reply = ask(at, SEED_QUESTION)
    [refusal] = shown(reply.info)
    assert refusal.startswith("**The documents don't say.** Nothing in the chosen documents answers this")
    assert any(c.endswith(" · only from notes.txt") for c in shown(reply.caption)), shown(reply.caption)

    at.sidebar.multiselect(key="scope").set_value([ids[SEED.name]]).run()
    reply = ask(at, SEED_QUESTION)
    assert "Yevkurov" in shown(reply.markdown)[0] and SEED.name in html.unescape(reply.expander[0].label)
    assert any(c.endswith(f" · only from {SEED.name}") for c in shown(reply.caption))
    assert any("only from notes.txt" in c for c in shown(at.chat_message[1].caption)), "each answer keeps its own"

    at.sidebar.multiselect(key="scope").set_value([]).run()  # none chosen: every document
    reply = ask(at, "Who is the lighthouse keeper on Skerry Island?")
    assert "Marta Lindqvist" in shown(reply.markdown)[0]
    assert not any("only from" in c for c in shown(reply.caption))

    at.sidebar.multiselect(key="scope").set_value([ids["notes.txt"], ids[SEED.name]]).run()
    at.button(key=f"remove-{ids['notes.txt']}").click().run()  # a chosen document leaves the library
    assert not at.exception, at.exception
    assert at.sidebar.multiselect(key="scope").value == [ids[SEED.name]]
    reply = ask(at, "Who is the lighthouse keeper on Skerry Island?")
    assert shown(reply.info) and not reply.error, "asked within what is left, not an error"


def test_labels_tell_apart_documents_with_the_same_file_name() -> None:
    labels = render.document_labels({"a": "docs/a/notes.txt", "b": "docs/b/notes.txt", "c": "/x/report.pdf"})
    assert labels == {"a": "docs/a/notes.txt", "b": "docs/b/notes.txt", "c": "report.pdf"}
    assert render.scope_note(["a.md"]) == "only from a.md"
    assert render.scope_note(["a.md", "b.md", "c.md", "d.md", "e.md"]) == "only from a.md, b.md, c.md and 2 more"


# --- the helpers under the app, with real files ----------------------------------------------------------


@pytest.fixture
def pipeline(tmp_path: Path, embedder: Any) -> Pipeline:
    settings = Settings(home=tmp_path / "home", collection="ui-" + uuid.uuid4().hex[:10], max_file_mb=0.001)
    return Pipeline(QA(settings, embedder=embedder))


def test_add_uploads_refuses_what_it_cannot_index_and_keeps_the_good_version(pipeline: Pipeline) -> None:
    folder = pipeline.settings.home / "uploads" / pipeline.settings.collection
    report = add_uploads(pipeline, [("notes.txt", NOTES), ("..", NOTES), ("tool.exe", b"MZ")])
    assert [Path(s).name for s in report.added] == ["notes.txt"]
    reasons = dict(report.failed)
    assert reasons[".."].startswith("not a usable file name")
    supported = ".docx, .epub, .htm, .html, .markdown, .md, .pdf, .pptx, .txt"
    assert reasons["tool.exe"] == f"unsupported file type .exe (supported: {supported})"
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    report = add_uploads(pipeline, [("../../escape.txt", b"Escape hatches open outward.\n")])
    assert [Path(s).name for s in report.added] == ["escape.txt"] and (folder / "escape.txt").is_file()
    assert not (folder.parent / "escape.txt").exists() and not (folder.parent.parent / "escape.txt").exists()
    remove_document(pipeline, next(d for d in pipeline.documents() if d.source.endswith("escape.txt")))

    report = add_uploads(pipeline, [("notes.txt", b"\xff\xfe broken")])  # a bad new version of a good file
    assert [Path(s).name for s, _ in report.failed] == ["notes.txt"]
    assert (folder / "notes.txt").read_bytes() == NOTES, "the good version is put back"
    assert [d.chunks for d in pipeline.documents()] == [1]

    report = add_uploads(pipeline, [("big.txt", b"x" * 2000)])
    assert report.failed == [
        ("big.txt", "file is too large (1.95 KB; the limit is 1.02 KB; raise it with QA_MAX_FILE_MB)")
    ]

    report = remove_document(pipeline, pipeline.documents()[0])
    assert [Path(s).name for s in report.removed] == ["notes.txt"] and not list(folder.iterdir())
    assert pipeline.documents() == []


def test_sessions_share_one_pipeline_one_call_at_a_time(pipeline: Pipeline) -> None:
    add_uploads(pipeline, [("notes.txt", NOTES)])
    question = "Who is the lighthouse keeper on Skerry Island?"
    stream = pipeline.ask_stream(question, [], backend="extractive", k=3)
    assert "Marta Lindqvist" in str(next(stream))  # this session is mid-answer and holds the lock
    listed = threading.Event()
    other = threading.Thread(target=lambda: (pipeline.documents(), listed.set()))
    other.start()
    assert not listed.wait(0.5), "another session waits while an answer streams"
    stream.close()  # what the app does when the answer is done or cut short
    assert listed.wait(10)
    other.join()

    answers: list[str] = []

    def answer() -> None:  # one browser session asking
        final = list(pipeline.ask_stream(question, [], backend="extractive", k=3))[-1]
        answers.append(final.text if isinstance(final, Answer) else "no answer")

    threads = [threading.Thread(target=answer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 4 and len(set(answers)) == 1 and "Marta Lindqvist" in answers[0]


def test_qa_ui_starts_the_app_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QA_"))}
    command = [sys.executable, "-m", "qa", "--home", str(tmp_path / "home"), "ui", "--port", str(port)]
    # Ctrl-C as a terminal delivers it, even when the test run itself was started in the background (`cmd &`
    # in a script starts it with SIGINT ignored, and a child would inherit that)
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline, healthy = time.monotonic() + 30, False
        while not healthy and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                    healthy = response.read() == b"ok"
            except OSError:
                time.sleep(0.3)
        assert healthy, f"`qa ui` did not serve on 127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        # qa gives the app 15 s to stop before killing it; the rest is slack for a loaded machine, not a target
        output = process.communicate(timeout=60)[0].decode(errors="replace")
    assert process.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output


def test_settings_come_from_the_sidebar_over_the_environment(tmp_path: Path) -> None:
    env = {"QA_HOME": str(tmp_path), "OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "QA_K": "7"}
    settings = build_settings(env, backend="openai", llm_model=" m ", openai_base_url="", openai_api_key=SECRET, k=3)
    assert (settings.home, settings.backend, settings.llm_model, settings.k) == (tmp_path, "openai", "m", 3)
    assert not settings.strict and build_settings({**env, "QA_STRICT": "1"}).strict
    assert not build_settings({**env, "QA_STRICT": "1"}, strict=False).strict  # the sidebar's choice wins
    assert settings.openai_base_url == "http://127.0.0.1:1/v1" and settings.openai_api_key == SECRET
    assert SECRET not in repr(settings)
    # the cache keys: answering settings share one QA per endpoint; the index is shared by all of them
    assert pipeline_key(settings) == pipeline_key(
        build_settings(env, backend="extractive", llm_model="m", k=1, openai_api_key=SECRET)
    )
    assert store_key(settings) == store_key(build_settings(env, llm_model="other"))


def test_history_keeps_answered_turns_and_drops_errors() -> None:
    messages = [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1", "answer": object()},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "", "error": "endpoint down"},
        {"role": "user", "content": "q3"},
        {"role": "assistant", "content": "The documents don't say.", "answer": object()},
        {"role": "user", "content": "q4 (interrupted)"},
    ]
    assert history(messages) == [
        Turn("user", "q1"),
        Turn("assistant", "a1"),
        Turn("user", "q3"),
        Turn("assistant", "The documents don't say."),
    ]


# --- pure rendering ----------------------------------------------------------------------------------


def test_escape_markdown_renders_text_as_itself() -> None:
    text = "a *b* _c_ [d](e) ![f](g) <h> `i` # j $k$ :red[l] & 1. m | n ~o~ \\p"
    escaped = render.escape_markdown(text)
    assert html.unescape(escaped) == text
    assert not re.search(r"[*_\[\]()<>`#$:|~\\!]", escaped.replace("&#", ""))


def test_document_html_escapes_the_text_and_marks_the_quote() -> None:
    text = "<script>alert(1)</script>\nThe quote is here.\n</div><b>after</b>"
    start = text.index("The quote")
    out = render.document_html(text, start, start + len("The quote is here."), "qa-1-2")
    assert "<mark id='qa-1-2-mark'>The quote is here.</mark>" in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;/div&gt;&lt;b&gt;after&lt;/b&gt;" in out
    assert out.count("<script>") == 1, "the only script is the app's own scroller"
    with pytest.raises(ValueError):
        render.document_html(text, 0, 1, "x'); alert(1); ('")


def test_answer_markdown_marks_unsupported_sentences_and_the_meta_line() -> None:
    answer = Answer(
        "q",
        "It is so [1]. This is made up. It is [2] so.",
        False,
        "openai",
        "gpt-x",
        citations=(make_citation(1, "d", "docs/a.pdf", 10, 20, "quote one", page=2),),
        unsupported=("This is made up.",),
        latency_ms=1234.5,
    )
    assert html.unescape(render.answer_markdown(answer)) == (
        "It is so [1]. :orange-background[⚠ This is made up.] It is [2] so."
    )
    assert render.meta_line(answer) == "openai · gpt-x · 1.23 s"
    assert render.position(answer.citations[0]) == "page 2, chars 10-20"
    assert "a.pdf · page 2, chars 10-20" in html.unescape(render.citation_label(answer.citations[0]))


def test_an_excerpt_keeps_whole_lines_near_the_quote() -> None:
    text = SEED.read_text(encoding="utf-8")
    start = text.index("Moscow has appointed")
    end = text.index("intelligence said.", start) + len("intelligence said.")
    passage = render.excerpt_around(text, start, end)
    assert passage.quote == text[start:end]
    assert passage.before.startswith("… HUR said that some 12 000") and passage.before.endswith("the war.\n")
    assert passage.after.startswith("\n“The troops sent by Pyongyang") and passage.after.endswith("HUR said. …")
