"""The conversation of the chat app: the questions asked, the answers streamed in with their sources, each
quote openable where it stands in its document, and what to do when there is no answer.

The conversation is kept in `st.session_state.messages`; answering happens in `qa.QA`, through the shared
pipeline (ui/pipeline.py).
"""

from __future__ import annotations

import logging
from typing import Any

import streamlit as st

from qa import QAError, Settings
from qa.errors import EmptyIndexError
from qa.records import Answer
from ui import feedback, render
from ui.pipeline import Pipeline, history

log = logging.getLogger("qa.ui")


def _new_id() -> int:
    st.session_state.next_id += 1
    return int(st.session_state.next_id)


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
            st.html(render.excerpt_html(message["excerpts"][c.n]))
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
    only = list(scope) or None
    stream = pipe.ask_stream(question, turns, backend=settings.backend, k=settings.k, strict=settings.strict, docs=only)
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
        kept = {"answer": answer, "excerpts": pipe.excerpts(answer), "scope": list(scope.values())}
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
