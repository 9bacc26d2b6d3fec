"""The side panels of the chat app: the backend settings, and the library (uploads, the documents with their
remove buttons, the choice of documents to ask within, and what the last library action did).

The library's empty state, shown in the main area with its button to add the bundled seeds, lives here too: it
is one more way to fill the library.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import streamlit as st

from qa import IngestReport, QAError, Settings
from qa.settings import BACKENDS, OPENAI_URL
from ui import render
from ui.library import UPLOAD_TYPES, add_uploads, ingest_seeds, remove_document, seeds_folder
from ui.pipeline import Pipeline, build_settings

BACKEND_HELP = (
    "**auto**: an endpoint if one is set, else extractive · **openai**: any OpenAI-compatible endpoint · "
    "**llama**: a local GGUF model (llama.cpp) · **extractive**: quotes the best sentences, no LLM"
)
STRICT_HELP = (
    "Refuse rather than risk a wrong answer: an LLM answer with any sentence no passage supports is refused, and "
    "the extractive backend answers only when it is fairly sure (more refusals, some of questions the documents "
    "do answer)"
)


# --- library actions ---------------------------------------------------------------------------------


def _library_action(action: str, run: Callable[[], IngestReport]) -> None:
    try:
        st.session_state.report = (action, run())
    except QAError as exc:
        st.session_state.report = (action, IngestReport(failed=[("library", str(exc))]))


def _on_upload(pipe: Pipeline, key: str) -> None:
    files = st.session_state.get(key) or []
    if files:
        _library_action("upload", lambda: add_uploads(pipe, [(f.name, f.getvalue()) for f in files]))
        st.session_state.upload_round += 1  # a fresh, empty uploader next time


# --- the panels --------------------------------------------------------------------------------------


def settings_panel(base: Settings) -> Settings:
    backend = st.selectbox("Backend", BACKENDS, index=BACKENDS.index(base.backend), key="backend", help=BACKEND_HELP)
    model = st.text_input("Model", value=base.llm_model, key="llm_model", help="model name at the endpoint")
    url = st.text_input("Endpoint URL", value=base.openai_base_url or "", key="base_url", placeholder=OPENAI_URL)
    key = st.text_input(
        "API key",
        type="password",
        key="api_key",
        placeholder="set in the environment" if base.openai_api_key else "not set",
        help="Kept only in this browser session: never shown again, logged or saved.",
    )
    k = st.slider("Passages to answer from", 1, 20, value=min(base.k, 20), key="k")
    strict = st.toggle("Strict", value=base.strict, key="strict", help=STRICT_HELP)
    try:
        return build_settings(
            os.environ, backend=backend, llm_model=model, openai_base_url=url, openai_api_key=key, k=k, strict=strict
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
