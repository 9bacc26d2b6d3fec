"""What each `qa` command does, given its parsed arguments: one function per command, and the exit codes they
return. Heavy modules (Chroma, models, the web stack) are imported inside each command, so `qa --help` is quick."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from typing import Any

from qa.errors import EmptyIndexError, QAError, redact

EXIT_FAILED = 1  # some input failed, the rest was done
EXIT_ERROR = 2  # nothing was done
EXIT_EMPTY = 3  # the index holds no documents: nothing to search or answer from


def without_keys(problem: object) -> str:
    """An error's text with no API key in it (an endpoint's error may repeat the key it was sent)."""
    return redact(str(problem), os.environ.get("OPENAI_API_KEY"), os.environ.get("QA_API_KEY"))


def _doc_filter(args: argparse.Namespace) -> dict[str, Any]:
    return {"docs": args.doc, "exclude_docs": args.not_doc}


def _settings(args: argparse.Namespace) -> Any:
    from qa.settings import Settings

    names = ("home", "chroma_url", "collection", "embedder", "max_file_mb", "chunk_tokens", "chunk_overlap", "backend")
    return Settings.from_env(os.environ, **{name: getattr(args, name, None) for name in names})


def _open(args: argparse.Namespace) -> Any:
    from qa.api import QA

    return QA(_settings(args))


def _serve(args: argparse.Namespace) -> int:
    from qa.server.app import serve

    serve(_settings(args), args.host, args.port, api_key=os.environ.get("QA_API_KEY") or None)
    return 0


def _mcp(args: argparse.Namespace) -> int:
    from qa.server.mcp import run

    run(_settings(args), port=args.port, api_key=os.environ.get("QA_API_KEY") or None)
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    qa = _open(args)
    with tqdm(total=0, unit="chunk", desc="embedding", file=sys.stderr, disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = qa.ingest(args.paths, prune=args.prune, progress=progress)
    for source, reason in report.skipped:
        print(f"skipped {source}: {reason}", file=sys.stderr)
    for source, reason in report.failed:
        print(f"failed  {source}: {reason}", file=sys.stderr)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.summary())
    return EXIT_FAILED if report.failed else 0


def _search(args: argparse.Namespace) -> int:
    hits = _open(args).search(args.query, k=args.k, mode=args.mode, **_doc_filter(args))
    if args.json:
        print(json.dumps({"query": args.query, "hits": [h.to_dict() for h in hits]}, indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("no passages match the query")
    for rank, hit in enumerate(hits, start=1):
        print(f"[{rank}] {hit.where()} (score {hit.score:.4f})")
        print(textwrap.indent(textwrap.fill(" ".join(hit.text.split()), width=100), "    "))
    return 0


def _docs(args: argparse.Namespace) -> int:
    if args.action == "rm" and not args.target:  # said before anything is opened or loaded
        print("error: say which document to remove: qa docs rm ID|PATH (`qa docs` lists them)", file=sys.stderr)
        return EXIT_ERROR
    qa = _open(args)
    if args.action == "rm":
        report = qa.remove(args.target)
        print(f"removed {report.removed[0]} ({report.chunks_removed} chunks)")
        return 0
    docs = qa.documents()
    if args.json:
        print(json.dumps([d.to_dict() for d in docs], indent=2, ensure_ascii=False))
    elif not docs:
        print("the index is empty; add documents with `qa ingest PATH`")
    else:
        print(f"{'id':16}  {'chunks':>6}  {'chars':>9}  source")
        for d in docs:
            print(f"{d.doc_id:16}  {d.chunks:>6}  {d.chars:>9}  {d.source}")
    return 0


def _show(answer: Any) -> str:
    """An answer as a person reads it: the text, each quote with where it stands, and who answered."""
    lines = [textwrap.fill(answer.text, width=100)]
    lines += [textwrap.fill(c.line(), 100, subsequent_indent="    ") for c in answer.citations]
    for sentence in answer.unsupported:
        lines.append(f"(unsupported by the documents: {sentence})")
    lines.append(f"(backend: {answer.backend} | model: {answer.model or '-'} | {answer.latency_ms:.0f} ms)")
    return "\n".join(lines)


def _ask(args: argparse.Namespace) -> int:
    from qa.records import Answer

    qa = _open(args)
    answer = None
    options = {"backend": args.backend, "k": args.k, "strict": args.strict, **_doc_filter(args)}
    for event in qa.ask_stream(args.question, **options):
        if isinstance(event, Answer):
            answer = event
        elif args.stream and not args.json:
            print(event, end="", flush=True, file=sys.stderr)
    assert answer is not None
    if args.stream and not args.json:
        print(file=sys.stderr)
    answer_id = _answer_log(args).record(answer) if args.log else None
    shown = {**answer.to_dict(), "answer_id": answer_id}  # the shape of `POST /v1/ask`
    print(json.dumps(shown, indent=2, ensure_ascii=False) if args.json else _show(answer))
    if answer_id and not args.json:
        print(f"(logged as {answer_id})", file=sys.stderr)
    return 0


def _answer_log(args: argparse.Namespace) -> Any:
    from qa.answer_log import AnswerLog

    return AnswerLog.at(_settings(args).home)


def _log(args: argparse.Namespace) -> int:
    from pathlib import Path

    from qa.errors import ConfigError

    answers = _answer_log(args)
    if args.action == "clear":
        print(f"removed {answers.clear()} answer(s) from {answers.path}")
        return 0
    if not args.out:
        raise ConfigError("say where to write the question set: qa log export --out set.jsonl")
    docs = Path(args.docs) if args.docs else None
    count = answers.export(Path(args.out), docs)
    if not count:
        print(f"no rated answer in {answers.path} gives a gold answer yet: rate answers in the chat app or with "
              "POST /v1/feedback (a thumbs-down needs a correction, or should_refuse)", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    print(f"wrote {count} question(s) to {args.out}; run them with: qa eval {args.out} --docs DIR")
    return 0


def _chat(args: argparse.Namespace) -> int:
    qa = _open(args)
    qa.require_documents()  # say so before the first question, not after it
    qa.select(args.doc, args.not_doc)  # and that a --doc matches nothing
    history: list[dict[str, str]] = []
    print("Ask about your documents; an empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("\nyou> ").strip()
        except EOFError:
            return 0
        if not question or question in ("exit", "quit"):
            return 0
        try:
            answer = qa.ask(question, history, backend=args.backend, k=args.k, strict=args.strict, **_doc_filter(args))
        except EmptyIndexError:  # the last document went while we talked: nothing left to answer from
            raise
        except QAError as exc:  # a dead endpoint ends one turn, not the conversation
            print(f"error: {without_keys(exc)}")
            continue
        print(_show(answer))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def _ui(args: argparse.Namespace) -> int:
    import signal
    import subprocess
    from pathlib import Path

    from qa.errors import ConfigError

    # ui/ and seeds/ live next to the package in the source checkout (`pip install -e .`), not inside it
    app = Path(__file__).resolve().parents[2] / "ui" / "app.py"
    if not app.is_file():
        raise ConfigError(f"no chat app at {app}; `qa ui` runs from a source checkout installed with pip install -e .")
    env = dict(os.environ)
    for name, variable in (
        ("home", "QA_HOME"),
        ("chroma_url", "QA_CHROMA_URL"),
        ("collection", "QA_COLLECTION"),
        ("embedder", "QA_EMBEDDER"),
    ):
        if getattr(args, name, None):
            env[variable] = str(getattr(args, name))
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", "127.0.0.1", "--server.port", str(args.port), "--server.headless", "true",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal",
    ]  # fmt: skip
    print(f"qa ui: open http://127.0.0.1:{args.port} (Ctrl-C stops it)", file=sys.stderr)
    process = subprocess.Popen(command, env=env)
    # `kill` (SIGTERM) or a closed terminal (SIGHUP) sent to qa alone must stop the app too, not orphan it
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda received, _frame: process.send_signal(received))
    try:
        code = process.wait()
        return 128 - code if code < 0 else code  # killed by signal N: 128 + N, as a shell reports it
    except KeyboardInterrupt:  # pass Ctrl-C on (a terminal sends it to both; `kill -INT` only to qa)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        return 0


def _eval(args: argparse.Namespace) -> int:
    from qa.evaluation.cli import run_eval

    return run_eval(args)


COMMANDS = {
    "ingest": _ingest,
    "search": _search,
    "docs": _docs,
    "ask": _ask,
    "chat": _chat,
    "ui": _ui,
    "serve": _serve,
    "mcp": _mcp,
    "eval": _eval,
    "log": _log,
}
