"""The chat app: ask your documents, read grounded answers, open each quote where it stands.

Run it with `qa ui` (or `streamlit run ui/app.py --server.address 127.0.0.1 --browser.gatherUsageStats false`).
A thin layer over `qa.QA`: retrieval, answering and citations all happen there; this file only lays out
widgets and keeps the conversation in `st.session_state`.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts ui/ on the path, not the checkout holding it
    sys.path.insert(0, str(ROOT))

from qa import QA, IngestReport, QAError, Settings  # noqa: E402
from qa.errors import EmptyIndexError  # noqa: E402
from qa.records import Answer  # noqa: E402
from qa.settings import BACKENDS  # noqa: E402
from ui import feedback, render  # noqa: E402
from ui.library import UPLOAD_TYPES, add_uploads, ingest_seeds, remove_document, seeds_folder  # noqa: E402
from ui.pipeline import Pipeline, build_settings, history, pipeline_key, store_key  # noqa: E402

log = logging.getLogger("qa.ui")
BACKEND_HELP = (
    "**auto**: an endpoint if one is set, else extractive · **openai**: any OpenAI-compatible endpoint · "
    "**llama**: a local GGUF model (llama.cpp) · **extractive**: quotes the best sentences, no LLM"
)


# --- the shared pipeline ----------------------------------------------------------------------------


@st.cache_resource(show_spinner="Opening the index…", max_entries=4)
def _index(key: Settings) -> Pipeline:
    return Pipeline(QA(key))


@st.cache_resource(show_spinner=False, max_entries=16)
def _pipeline(key: Settings) -> Pipeline:
    base = _index(store_key(key))
    return base if base.settings == key else base.over_same_index(key)


def pipeline(settings: Settings) -> Pipeline:
    """One pipeline per process and setting, shared by every browser session (see ui/pipeline.py)."""
    return _pipeline(pipeline_key(settings))


# --- session state and callbacks --------------------------------------------------------------------


def _init_state() -> None:
    for name, value in (("messages", []), ("next_id", 0), ("upload_round", 0), ("report", None)):
        st.session_state.setdefault(name, value)


def _new_id() -> int:
    st.session_state.next_id += 1
    return int(st.session_state.next_id)


def _new_chat() -> None:
    st.session_state.messages = []


def _library_action(action: str, run: Any) -> None:
    try:
        st.session_state.report = (action, run())
    except QAError as exc:
        st.session_state.report = (action, IngestReport(failed=[("library", str(exc))]))


def _on_upload(pipe: Pipeline, key: str) -> None:
    files = st.session_state.get(key) or []
    if files:
        _library_action("upload", lambda: add_uploads(pipe, [(f.name, f.getvalue()) for f in files]))
        st.session_state.upload_round += 1  # a fresh, empty uploader next time


# --- the sidebar: settings and library --------------------------------------------------------------


def settings_panel(base: Settings) -> Settings:
    backend = st.selectbox("Backend", BACKENDS, index=BACKENDS.index(base.backend), key="backend", help=BACKEND_HELP)
    model = st.text_input("Model", value=base.llm_model, key="llm_model", help="model name at the endpoint")
    url = st.text_input(
        "Endpoint URL", value=base.openai_base_url or "", key="base_url", placeholder="https://api.openai.com/v1"
    )
    key = st.text_input(
        "API key",
        type="password",
        key="api_key",
        placeholder="set in the environment" if base.openai_api_key else "not set",
        help="Kept only in this browser session: never shown again, logged or saved.",
    )
    k = st.slider("Passages to answer from", 1, 20, value=min(base.k, 20), key="k")
    try:
        return build_settings(
            os.environ, backend=backend, llm_model=model, openai_base_url=url, openai_api_key=key, k=k
        )
    except QAError as exc:
        st.error(str(exc))
        return base


def show_report() -> None:
    if not st.session_state.report:
        return
    _, report = st.session_state.report
    names = render.document_name
    for label, sources in (("Added", report.added), ("Updated", report.updated), ("Removed", report.removed)):
        if sources:
            st.success(f"{label}: " + ", ".join(render.escape_markdown(names(s)) for s in sources))
    if report.unchanged:
        unchanged = ", ".join(render.escape_markdown(names(s)) for s in report.unchanged)
        st.info(f"Already in the library, unchanged: {unchanged}")
    for source, reason in report.failed + report.skipped:
        st.error(f"**{render.escape_markdown(names(source))}** was not added: {render.escape_markdown(reason)}")


def scope_picker(docs: list[Any]) -> dict[str, str]:
    """The documents the chat's questions are limited to, ids to labels (none chosen: every document). A
    document that leaves the library leaves the choice too."""
    labels = render.document_labels({info.doc_id: info.source for info in docs})
    chosen = st.multiselect(
        "Ask within",
        list(labels),
        format_func=labels.__getitem__,
        key="scope",
        placeholder="All documents",
        help="Questions are answered only from the documents chosen here; with none chosen, from all of them.",
    )
    return {doc_id: labels[doc_id] for doc_id in chosen}


def library_panel(pipe: Pipeline, docs: list[Any]) -> dict[str, str]:
    """The library: uploads, the documents with their remove buttons, and the choice of documents to ask
    within, which it returns."""
    st.subheader("Library")
    key = f"upload-{st.session_state.upload_round}"
    st.file_uploader(
        "Add documents",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        max_upload_size=max(1, math.ceil(pipe.settings.max_file_mb)),
        key=key,
        on_change=_on_upload,
        args=(pipe, key),
        help="Saved under the index folder and ingested like `qa ingest`; the same file twice is kept once.",
    )
    show_report()
    scope = scope_picker(docs) if docs else {}
    if not docs:
        st.caption("No documents yet.")
    for info in docs:
        row = st.container(horizontal=True, vertical_alignment="center", wrap=False)
        name = row.container(width="stretch", gap=None)
        name.markdown(f"**{render.escape_markdown(render.document_name(info.source))}**", help=info.source)
        name.caption(f"{info.chunks} chunk{'s' if info.chunks != 1 else ''} · {info.chars:,} characters")
        row.button(
            ":material/delete:",
            key=f"remove-{info.doc_id}",
            help=f"Remove {render.document_name(info.source)} from the library",
            on_click=_library_action,
            args=("remove", lambda info=info: remove_document(pipe, info)),
        )
    return scope


# --- the conversation ----------------------------------------------------------------------------


def show_document(pipe: Pipeline, citation: Any, anchor: str) -> None:
    try:
        doc = pipe.document(citation.doc_id)
    except QAError as exc:
        st.warning(f"{render.escape_markdown(str(exc))}")
        return
    if doc.text[citation.start : citation.end] != citation.quote:
        st.warning("This document has changed since the answer was given; ask again for fresh quotes.")
        return
    st.html(render.document_html(doc.text, citation.start, citation.end, anchor), unsafe_allow_javascript=True)


def show_sources(pipe: Pipeline, message: dict[str, Any]) -> None:
    answer: Answer = message["answer"]
    for c in answer.citations:
        with st.expander(render.citation_label(c), key=f"cite-{message['id']}-{c.n}"):
            st.html(render.passage_html(message["passages"][c.n]))
            st.caption(f"{render.escape_markdown(c.source)} · {render.position(c)}")
            if st.toggle("Show the whole document", key=f"doc-{message['id']}-{c.n}"):
                show_document(pipe, c, f"qa-{message['id']}-{c.n}")


def show_reply(pipe: Pipeline, message: dict[str, Any]) -> None:
    if "empty" in message:
        st.warning(
            f"**The library is empty: there is nothing to answer from.** Add documents in the sidebar, or run "
            f"`qa ingest <folder>`. (Looked in {render.escape_markdown(message['empty'])}.)",
            icon=":material/library_books:",
        )
        return
    if "error" in message:
        st.error(f"**Could not answer.** {render.escape_markdown(message['error'])}", icon=":material/error:")
        st.caption("Change the backend settings in the sidebar (or pick extractive), then ask again.")
        return
    answer: Answer = message["answer"]
    if answer.refused:
        where, more = (
            ("the chosen documents", "choose more under Ask within")
            if message.get("scope")
            else ("the library", "add a document that covers it")
        )
        st.info(
            f"**{render.escape_markdown(answer.text)}** Nothing in {where} answers this; rephrase the question, "
            f"or {more}.",
            icon=":material/search_off:",
        )
    else:
        st.markdown(render.answer_markdown(answer))
        if answer.unsupported:
            st.caption(":material/warning: Sentences marked ⚠ are not backed by any quote from your documents.")
        show_sources(pipe, message)
    line = render.meta_line(answer)
    if message.get("scope"):
        line += f" · {render.scope_note(message['scope'])}"
    if answer.standalone_question and answer.standalone_question != answer.question:
        line += f" · searched for “{answer.standalone_question}”"
    st.caption(render.escape_markdown(line))
    feedback.rate(pipe.settings, message)


def ask(pipe: Pipeline, settings: Settings, question: str, slot: Any, scope: dict[str, str]) -> dict[str, Any]:
    """Stream the answer into `slot`, only from the documents `scope` (ids to labels; empty: all); the finished
    reply (or the error) as a message to keep."""
    turns = history(st.session_state.messages[:-1])  # the question itself is the last message
    stream = pipe.ask_stream(question, turns, backend=settings.backend, k=settings.k, docs=list(scope) or None)
    final: list[Answer] = []

    def deltas() -> Any:
        for event in stream:
            if isinstance(event, Answer):
                final.append(event)
            else:
                yield render.escape_markdown(event)

    message: dict[str, Any] = {"id": _new_id(), "role": "assistant"}
    try:
        with slot.container():
            st.write_stream(deltas())
        answer = final[-1]
        kept = {"answer": answer, "passages": pipe.passages(answer), "scope": list(scope.values())}
        kept["answer_id"] = feedback.remember(settings, answer)
        return {**message, "content": answer.text, **kept}
    except EmptyIndexError as exc:  # another session removed the last document
        return {**message, "content": "", "empty": exc.where}
    except QAError as exc:
        return {**message, "content": "", "error": str(exc)}
    except Exception as exc:  # a bug must not end the conversation with a traceback; the log has it
        log.exception("answering failed")
        return {**message, "content": "", "error": f"unexpected error ({type(exc).__name__}: {exc})"}
    finally:
        stream.close()  # releases the pipeline's lock even if the stream was cut short


def conversation(pipe: Pipeline, settings: Settings, has_docs: bool, scope: dict[str, str]) -> None:
    for message in st.session_state.messages:
        with st.chat_message(message["role"]):
            if message["role"] == "user":
                st.markdown(render.escape_markdown(message["content"]))
            else:
                show_reply(pipe, message)
    # a conversation under way keeps its box as it was (the same widget), so a question asked after the last
    # document went is answered with what to do rather than silently dropped
    open_box = has_docs or bool(st.session_state.messages)
    placeholder = "Ask a question about your documents" if open_box else "Add a document first"
    question = st.chat_input(placeholder, disabled=not open_box)
    if not question or not question.strip():
        return
    st.session_state.messages.append({"id": _new_id(), "role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(render.escape_markdown(question))
    with st.chat_message("assistant"):
        slot = st.empty()
        try:
            reply = ask(pipe, settings, question, slot, scope)
        except BaseException:  # Streamlit stopped or restarted the script mid-answer: say so in the chat
            stopped = "the answer was interrupted before it finished; ask again"
            st.session_state.messages.append({"id": _new_id(), "role": "assistant", "content": "", "error": stopped})
            raise
        st.session_state.messages.append(reply)
        with slot.container():
            show_reply(pipe, reply)


def empty_state(pipe: Pipeline) -> None:
    st.info(
        "**Your library is empty.** Upload documents (.txt, .md, .html, .pdf) in the sidebar, or start with the "
        "sample news article bundled in `seeds/`.",
        icon=":material/library_books:",
    )
    st.caption(
        f"Looked in {render.escape_markdown(pipe.where())}; `qa ingest <folder>` fills the same index from the "
        "command line."
    )
    if seeds_folder():
        st.button(
            "Add the sample article from seeds/",
            type="primary",
            key="ingest-seeds",
            on_click=_library_action,
            args=("seeds", lambda: ingest_seeds(pipe)),
        )


def main() -> None:
    st.set_page_config(page_title="Ask your documents", page_icon=":material/description:")
    _init_state()
    try:
        base = Settings.from_env(os.environ)
    except QAError as exc:
        st.error(f"The settings in the environment are not usable: {exc}")
        st.stop()
    with st.sidebar:
        st.button("New chat", icon=":material/add_comment:", on_click=_new_chat, key="new-chat", width="stretch")
        library = st.container()
        with st.expander("Settings", icon=":material/tune:"):
            settings = settings_panel(base)
    try:
        pipe = pipeline(settings)
        docs = pipe.documents()
    except QAError as exc:
        st.error(f"The index cannot be opened: {exc}")
        st.stop()
    with library:
        scope = library_panel(pipe, docs)
    st.header("Ask your documents")
    st.caption("Every answer quotes its sources: open a source to see the quote where it stands.")
    if not docs:
        empty_state(pipe)
    conversation(pipe, settings, bool(docs), scope)


main()
