"""The chat app: ask your documents, read grounded answers, open each quote where it stands.

Run it with `qa ui` (or `streamlit run ui/app.py --server.address 127.0.0.1 --browser.gatherUsageStats false`).
A thin layer over `qa.QA`: retrieval, answering and citations all happen there. This file builds the shared
pipeline, sets up `st.session_state` and lays out the page; the side panels are in `ui/sidebar.py`, the
conversation in `ui/conversation.py`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts ui/ on the path, not the checkout holding it
    sys.path.insert(0, str(ROOT))

from qa import QA, QAError, Settings  # noqa: E402
from ui.conversation import conversation  # noqa: E402
from ui.pipeline import Pipeline, pipeline_key, store_key  # noqa: E402
from ui.sidebar import empty_state, library_panel, settings_panel  # noqa: E402

# --- the shared pipeline ----------------------------------------------------------------------------


@st.cache_resource(show_spinner="Opening the index…", max_entries=4)
def _index(key: Settings) -> Pipeline:
    qa = QA(key)
    qa.warm()
    return Pipeline(qa)


@st.cache_resource(show_spinner=False, max_entries=16)
def _pipeline(key: Settings) -> Pipeline:
    base = _index(store_key(key))
    return base if base.settings == key else base.over_same_index(key)


def pipeline(settings: Settings) -> Pipeline:
    """One pipeline per process and setting, shared by every browser session (see ui/pipeline.py)."""
    return _pipeline(pipeline_key(settings))


# --- session state ----------------------------------------------------------------------------------


def _init_state() -> None:
    for name, value in (("messages", []), ("next_id", 0), ("upload_round", 0), ("report", None)):
        st.session_state.setdefault(name, value)


def _new_chat() -> None:
    st.session_state.messages = []


# --- the page ------------------------------------------------------------------------------------


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
