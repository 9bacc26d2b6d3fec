"""The answer log (qa/answer_log.py) and every way into it: the module itself, `POST /v1/feedback` and the logged
answers of a real server on loopback, `qa ask --log` / `qa log export` / `qa log clear` run in-process with the
exported set then run by `qa eval`, and the chat app's thumbs (headless AppTest) over a real index.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from qa import QA, Settings
from qa.answer_log import AnswerLog
from qa.cli import main as cli
from qa.errors import InputError, NotFoundError
from qa.evaluation.questions import load_questions
from qa.records import Answer
from qa.server.app import create_app, running
from tests.conftest import SEED, SEED_QUESTION, MakeQA
from tests.processes import sse
from tests.records import make_citation

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
QUOTE = "Moscow has appointed Russian Deputy Defence Minister Yunus-bek Yevkurov"
REFUSAL_QUESTION = "What is a good recipe for sourdough bread?"
OPENAI_KEY = "sk-log-" + uuid.uuid4().hex
SERVER_KEY = "qa-log-" + uuid.uuid4().hex


def answer(question: str = "Who?", refused: bool = False, source: str = "docs/news/kursk.txt") -> Answer:
    citations = () if refused else (make_citation(1, "d1", source, 10, 10 + len(QUOTE), QUOTE, page=2),)
    text = "The documents don't say." if refused else "Yevkurov oversees it [1]."
    return Answer(question, text, refused, "extractive", None, citations, latency_ms=12.34)


# --- the module ----------------------------------------------------------------------------------------


def test_an_answer_line_holds_exactly_the_answer_fields(tmp_path: Path) -> None:
    log = AnswerLog.at(tmp_path / "home")
    answer_id = log.record(answer("Who oversees it?"))
    [line] = log.lines()
    assert set(line) == {"type", "id", "time", "question", "answer", "refused", "citations", "backend", "model",
                         "latency_ms"}  # fmt: skip
    assert line["id"] == answer_id and line["question"] == "Who oversees it?" and line["latency_ms"] == 12.3
    assert line["citations"] == [
        {
            "n": 1,
            "doc_id": "d1",
            "source": "docs/news/kursk.txt",
            "start": 10,
            "end": 10 + len(QUOTE),
            "page": 2,
            "quote": QUOTE,
            "contains_instructions": False,
        }
    ]  # fmt: skip  (the citation's wire shape, as `qa ask --json` prints it)
    assert (tmp_path / "home" / "log.jsonl").is_file()


def test_export_turns_each_kind_of_verdict_into_a_question(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "log.jsonl")
    good = log.record(answer("good"))
    refused_right = log.record(answer("refused right", refused=True))
    corrected = log.record(answer("corrected"))
    should_refuse = log.record(answer("should refuse"))
    no_gold = log.record(answer("no gold"))
    log.record(answer("never rated"))
    log.verdict(good, False, "something else")
    log.verdict(good, True)  # the latest verdict is the one kept
    log.verdict(refused_right, True)
    log.verdict(corrected, False, "  Yunus-bek Yevkurov  ")
    log.verdict(should_refuse, False, should_refuse=True)
    log.verdict(no_gold, False, "   ")  # an empty correction is no correction

    out = tmp_path / "sets" / "set.jsonl"
    assert log.export(out, docs=tmp_path / "elsewhere") == 4
    rows = {row["question"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert rows["good"] == {"id": f"log-{good}", "question": "good", "answers": [QUOTE], "doc_ids": ["kursk"],
                            "evidence": [QUOTE], "answerable": True}  # fmt: skip
    assert rows["refused right"]["answerable"] is False and rows["refused right"]["answers"] == []
    assert rows["corrected"] | {"id": ""} == {"id": "", "question": "corrected", "answers": ["Yunus-bek Yevkurov"],
                                              "doc_ids": [], "evidence": [], "answerable": True}  # fmt: skip
    assert rows["should refuse"]["answerable"] is False
    assert [q.question for q in load_questions(out)] == ["good", "refused right", "corrected", "should refuse"]


def test_export_names_documents_relative_to_the_corpus_folder(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "log.jsonl")
    log.verdict(log.record(answer(source=str(tmp_path / "corpus" / "news" / "kursk.txt"))), True)
    log.export(tmp_path / "set.jsonl", docs=tmp_path / "corpus")
    assert json.loads((tmp_path / "set.jsonl").read_text())["doc_ids"] == ["news/kursk"]


def test_a_verdict_needs_a_logged_answer_and_a_consistent_choice(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "log.jsonl")
    with pytest.raises(NotFoundError, match="no answer 'nope' in the answer log"):
        log.verdict("nope", True)
    answer_id = log.record(answer())
    with pytest.raises(InputError, match="cannot also be"):
        log.verdict(answer_id, True, should_refuse=True)
    assert [line["type"] for line in log.lines()] == ["answer"]


def test_threads_appending_together_leave_every_line_whole(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "log.jsonl")
    long_answer = answer("x" * 20_000)  # lines far longer than one pipe or page buffer
    ids: list[str] = []

    def work() -> None:
        for _ in range(40):
            ids.append(AnswerLog(tmp_path / "log.jsonl").record(long_answer))  # separate objects, one file

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    raw = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(raw) == 240 and sorted(json.loads(line)["id"] for line in raw) == sorted(ids)
    assert len(set(ids)) == 240 and all(line["question"] == long_answer.question for line in log.lines())


def test_a_torn_last_line_is_skipped_and_never_glued_to_the_next(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    log = AnswerLog(path)
    first = log.record(answer("first"))
    with path.open("a") as out:
        out.write('{"type": "answer", "id": "torn", "quest')  # a crash mid-write
    second = log.record(answer("second"))
    log.verdict(second, True)
    assert [line.get("id") or line.get("answer_id") for line in log.lines()] == [first, second, second]
    assert len(path.read_text().splitlines()) == 4


def test_clear_removes_the_log(tmp_path: Path) -> None:
    log = AnswerLog(tmp_path / "log.jsonl")
    log.verdict(log.record(answer()), True)
    log.record(answer())
    assert log.clear() == 2 and not log.path.exists() and log.rated() == []
    assert log.clear() == 0


# --- the HTTP service ------------------------------------------------------------------------------------


@contextmanager
def served(qa: QA, answer_log: AnswerLog | None, **options: Any) -> Iterator[httpx.Client]:
    app = create_app(qa, answer_log=answer_log, **options)
    with running(app) as url, httpx.Client(base_url=url, timeout=60) as http:
        yield http


def test_the_service_logs_answers_and_takes_feedback(make_qa: MakeQA, tmp_path: Path) -> None:
    qa = make_qa(backend="extractive", openai_api_key=OPENAI_KEY)
    assert qa.ingest([SEED]).ok
    log = AnswerLog.at(qa.settings.home)
    auth = {"Authorization": f"Bearer {SERVER_KEY}"}
    with served(qa, log, api_key=SERVER_KEY) as http:
        asked = http.post("/v1/ask", json={"question": SEED_QUESTION}, headers=auth).json()
        assert asked["answer_id"] and not asked["refused"]
        good = {"answer_id": asked["answer_id"], "good": True}
        reply = http.post("/v1/feedback", json=good, headers=auth)
        assert reply.status_code == 200 and reply.json() == {"answer_id": asked["answer_id"], "recorded": True}

        stream = http.post("/v1/ask", json={"question": REFUSAL_QUESTION, "stream": True}, headers=auth)
        [(_, streamed)] = [event for event in sse(stream.text) if event[0] == "answer"]
        chat = {"messages": [{"role": "user", "content": SEED_QUESTION}]}
        chatted = http.post("/v1/chat/completions", json=chat, headers=auth).json()["qa"]
        refuse = {"answer_id": streamed["answer_id"], "good": False, "should_refuse": True}
        assert http.post("/v1/feedback", json=refuse, headers=auth).status_code == 200

        unknown = http.post("/v1/feedback", json={"answer_id": "nope", "good": True}, headers=auth)
        assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found"
        assert http.post("/v1/feedback", json={"answer_id": "x"}, headers=auth).status_code == 422
        assert http.post("/v1/feedback", json=good).status_code == 401

    logged = [line["id"] for line in log.lines() if line["type"] == "answer"]
    assert logged == [asked["answer_id"], streamed["answer_id"], chatted["answer_id"]]
    assert [(r.answer["question"], r.good, r.should_refuse) for r in log.rated()] == [
        (SEED_QUESTION, True, False), (REFUSAL_QUESTION, False, True)
    ]  # fmt: skip
    text = log.path.read_text()
    assert OPENAI_KEY not in text and SERVER_KEY not in text


def test_a_service_without_a_log_says_so(make_qa: MakeQA) -> None:
    qa = make_qa(backend="extractive")
    assert qa.ingest([SEED]).ok
    with served(qa, None) as http:
        assert http.post("/v1/ask", json={"question": SEED_QUESTION}).json()["answer_id"] is None
        reply = http.post("/v1/feedback", json={"answer_id": "abc", "good": True})
        assert reply.status_code == 400 and "QA_LOG is off" in reply.json()["error"]["message"]
    assert not (qa.settings.home / "log.jsonl").exists()


# --- the command line ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_ask_log_export_then_eval_runs_the_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copyfile(SEED, docs / SEED.name)
    where = ["--home", str(tmp_path / "home"), "--collection", "log-" + uuid.uuid4().hex[:8]]
    assert cli(["ingest", str(docs), *where]) == 0
    capsys.readouterr()
    assert cli(["ask", SEED_QUESTION, "--json", "--backend", "extractive", *where]) == 0
    assert json.loads(capsys.readouterr().out)["answer_id"] is None, "no --log: nothing logged"
    log = AnswerLog.at(tmp_path / "home")
    assert list(log.lines()) == []

    assert cli(["ask", SEED_QUESTION, "--json", "--log", "--backend", "extractive", *where]) == 0
    good = json.loads(capsys.readouterr().out)["answer_id"]
    assert cli(["ask", REFUSAL_QUESTION, "--log", "--backend", "extractive", *where]) == 0
    assert "(logged as " in capsys.readouterr().err
    [refused] = [line["id"] for line in log.lines() if line["question"] == REFUSAL_QUESTION]
    log.verdict(good, True)
    log.verdict(refused, True)  # the refusal was right

    out = tmp_path / "set.jsonl"
    assert cli(["log", "export", "--out", str(out), "--docs", str(docs), *where]) == 0
    questions = load_questions(out)
    assert [(q.question, q.answerable, q.doc_ids) for q in questions] == [
        (SEED_QUESTION, True, (SEED.stem,)), (REFUSAL_QUESTION, False, ())
    ]  # fmt: skip
    capsys.readouterr()
    run = tmp_path / "run"
    assert cli(["eval", str(out), "--docs", str(docs), "--out", str(run), "--json", *where[:2]]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["metrics"]["accuracy"] == 1.0, summary["metrics"]
    assert len((run / "results.jsonl").read_text().splitlines()) == 2

    assert cli(["log", "clear", *where]) == 0
    assert "removed 2 answer(s)" in capsys.readouterr().out and not log.path.exists()
    assert cli(["log", "export", "--out", str(out), *where]) == 1
    assert "no rated answer" in capsys.readouterr().err


# --- the chat app -----------------------------------------------------------------------------------------------


def test_rating_in_the_chat_app_lands_in_the_export(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    settings = Settings(home=tmp_path / "home", collection="ui-" + uuid.uuid4().hex[:10])
    assert QA(settings, embedder=embedder).ingest([SEED]).ok
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "QA_BACKEND", "QA_K", "QA_CHROMA_URL", "QA_LOG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QA_HOME", str(settings.home))
    monkeypatch.setenv("QA_COLLECTION", settings.collection)
    at = AppTest.from_file(APP, default_timeout=60).run()

    at.chat_input[0].set_value(SEED_QUESTION).run()
    at.chat_message[-1].get("feedback")[0].set_value(1).run()
    assert not at.exception, at.exception
    assert "Thanks: recorded as a good answer." in [c.value for c in at.chat_message[-1].caption]

    at.chat_input[0].set_value("Who leads the troops?").run()
    at.chat_message[-1].get("feedback")[0].set_value(0).run()
    at.chat_message[-1].text_input[0].set_value("Kim Yong Bok").run()
    assert not at.exception, at.exception
    assert any("Kim Yong Bok" in c.value for c in at.chat_message[-1].caption)

    out = tmp_path / "set.jsonl"
    assert AnswerLog.at(settings.home).export(out) == 2
    first, second = map(json.loads, out.read_text().splitlines())
    assert first["question"] == SEED_QUESTION and first["answerable"] and QUOTE in first["answers"][0]
    assert second["question"] == "Who leads the troops?" and second["answers"] == ["Kim Yong Bok"]


def test_with_the_log_off_the_chat_app_logs_nothing_and_shows_no_thumbs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: Any
) -> None:
    settings = Settings(home=tmp_path / "home", collection="ui-" + uuid.uuid4().hex[:10])
    assert QA(settings, embedder=embedder).ingest([SEED]).ok
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "QA_BACKEND", "QA_K", "QA_CHROMA_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QA_HOME", str(settings.home))
    monkeypatch.setenv("QA_COLLECTION", settings.collection)
    monkeypatch.setenv("QA_LOG", "off")
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.chat_input[0].set_value(SEED_QUESTION).run()
    assert not at.exception, at.exception
    assert at.chat_message[-1].markdown and not at.chat_message[-1].get("feedback")
    assert not (settings.home / "log.jsonl").exists()
