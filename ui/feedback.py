"""Rating answers in the chat app: thumbs up or down under each answer, and on a thumbs-down a box for the right
answer and a box to tick when the documents do not answer the question at all.

Every change is recorded at once in the answer log (qa/answer_log.py) as the answer's latest verdict, so
`qa log export` can turn the rated answers into a question set for `qa eval`. With `QA_LOG` off nothing is
logged and no rating widgets are shown.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from qa import Settings
from qa.answer_log import AnswerLog, log_answer
from qa.errors import QAError
from qa.records import Answer
from ui import render


def answer_log(settings: Settings) -> AnswerLog | None:
    """The log answers go to, or None when `QA_LOG` is off."""
    return AnswerLog.at(settings.home) if settings.log else None


def remember(settings: Settings, answer: Answer) -> str | None:
    """Log a finished answer; its id in the log, or None when nothing is logged (or the log cannot be written)."""
    try:
        return log_answer(answer_log(settings), answer)
    except OSError:  # a full disk or a read-only home must not cost the reader the answer
        return None


def _keys(message: dict[str, Any]) -> tuple[str, str, str]:
    base = f"rate-{message['id']}"
    return base, f"{base}-correction", f"{base}-refuse"


def _record(answers: AnswerLog, message: dict[str, Any]) -> None:
    """Write the widgets' current state as the answer's verdict, and keep it on the message."""
    thumbs, correction, refuse = (st.session_state.get(key) for key in _keys(message))
    if thumbs is None:
        return
    good = bool(thumbs)
    fixed = None if good else str(correction or "").strip() or None
    should_refuse = not good and bool(refuse)
    try:
        answers.verdict(message["answer_id"], good=good, correction=fixed, should_refuse=should_refuse)
    except (QAError, OSError) as exc:
        message["verdict_error"] = str(exc)
        return
    message.pop("verdict_error", None)
    message["verdict"] = {"good": good, "correction": fixed, "should_refuse": should_refuse}


def rate(settings: Settings, message: dict[str, Any]) -> None:
    """The rating widgets under a logged answer."""
    answers = answer_log(settings)
    if answers is None or not message.get("answer_id"):
        return
    thumbs, correction, refuse = _keys(message)
    st.feedback("thumbs", key=thumbs, on_change=_record, args=(answers, message))
    if st.session_state.get(thumbs) == 0:
        st.text_input(
            "The right answer is …",
            key=correction,
            on_change=_record,
            args=(answers, message),
            placeholder="optional: the answer in your words",
        )
        st.checkbox("The documents do not answer this: it should have been a refusal", key=refuse,
                    on_change=_record, args=(answers, message))  # fmt: skip
    if "verdict_error" in message:
        st.warning(f"The rating was not saved: {render.escape_markdown(message['verdict_error'])}")
    elif "verdict" in message:
        st.caption(render.verdict_note(**message["verdict"]))
