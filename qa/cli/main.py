"""The `qa` command line: the parser, and `main`, which runs one command. Errors print one line saying what to
do next, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from qa.cli.commands import COMMANDS, EXIT_EMPTY, EXIT_ERROR, without_keys
from qa.errors import EmptyIndexError, QAError
from qa.settings import BACKENDS


def _parser() -> argparse.ArgumentParser:
    # the shared options go before or after the command; SUPPRESS keeps the subcommand's copy from
    # overwriting a value given before it
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--home", help="index folder (QA_HOME; default ./.qa)")
    common.add_argument("--chroma-url", help="Chroma server URL (QA_CHROMA_URL); default: embedded store")
    common.add_argument("--collection", help="collection name (QA_COLLECTION; default documents)")
    common.add_argument("--embedder", choices=["minilm", "openai"], help="embedder (QA_EMBEDDER; default minilm)")
    parser = argparse.ArgumentParser(prog="qa", description="Ask questions of your documents.", parents=[common])
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", parents=[common], help="add or update files and folders")
    ingest.add_argument("paths", nargs="+", help="files or folders (.txt .md .html .pdf)")
    ingest.add_argument("--prune", action="store_true", help="remove documents whose files left these folders")
    ingest.add_argument("--max-file-mb", type=float, help="skip larger files (QA_MAX_FILE_MB; default 50)")
    ingest.add_argument("--chunk-tokens", type=int, help="tokens per chunk (QA_CHUNK_TOKENS; default 200)")
    ingest.add_argument("--chunk-overlap", type=int, help="overlap in tokens (QA_CHUNK_OVERLAP; default 40)")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    search = commands.add_parser("search", parents=[common], help="ranked passages for a question")
    search.add_argument("query")
    search.add_argument("-k", type=int, help="number of passages (QA_K; default 5)")
    search.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    search.add_argument("--json", action="store_true", help="print the hits as JSON")
    _add_doc_filter(search)

    for name, text in (("ask", "answer a question with quoted sources"), ("chat", "a conversation in the terminal")):
        cmd = commands.add_parser(name, parents=[common], help=text)
        if name == "ask":
            cmd.add_argument("question")
            cmd.add_argument("--json", action="store_true", help="print the answer as one JSON object")
            cmd.add_argument("--stream", action="store_true", help="print the model's text as it comes first")
            cmd.add_argument("--log", action="store_true", help="record the answer in HOME/log.jsonl (see `qa log`)")
        cmd.add_argument("--backend", choices=BACKENDS, help="(QA_BACKEND)")
        cmd.add_argument("-k", type=int, help="passages to answer from (QA_K; default 5)")
        cmd.add_argument(
            "--strict",
            action="store_true",
            default=None,
            help="refuse if any sentence is unsupported; extractive: answer only at odds of 0.3 or more",
        )
        _add_doc_filter(cmd)

    from qa.evaluation.cli import add_eval_commands

    add_eval_commands(commands, common)

    docs = commands.add_parser("docs", parents=[common], help="list documents; `qa docs rm ID|PATH` removes one")
    docs.add_argument("action", nargs="?", choices=["list", "rm"], default="list")
    docs.add_argument("target", nargs="?", help="document id or path (for rm)")
    docs.add_argument("--json", action="store_true")

    log = commands.add_parser("log", parents=[common], help="the answer log: export rated answers, or clear it")
    log.add_argument("action", choices=["export", "clear"], help="export: rated answers as a question set for qa eval")
    log.add_argument("--out", help="with export: the question set to write (.jsonl)")
    log.add_argument("--docs", help="with export: the corpus folder `qa eval --docs` will get (names documents)")

    ui = commands.add_parser("ui", parents=[common], help="the chat app in your browser, on 127.0.0.1")
    ui.add_argument("--port", type=int, default=8501, help="port on 127.0.0.1 (default 8501)")

    serve = commands.add_parser("serve", parents=[common], help="the HTTP API: REST and OpenAI-compatible chat")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--backend", choices=BACKENDS, help="(QA_BACKEND)")
    serve.add_argument("--max-file-mb", type=float, help="largest upload (QA_MAX_FILE_MB; default 50)")

    mcp = commands.add_parser("mcp", parents=[common], help="an MCP server for assistants: stdio, or HTTP with --port")
    mcp.add_argument("--port", type=int, help="serve streamable HTTP on 127.0.0.1:PORT/mcp (QA_API_KEY: bearer key)")
    mcp.add_argument("--backend", choices=BACKENDS, help="(QA_BACKEND)")
    return parser


def _add_doc_filter(cmd: argparse.ArgumentParser) -> None:
    names = "an id, a path, or a glob on the path such as 'handbook/*.md' (quote it); repeatable; `qa docs` lists them"
    cmd.add_argument("--doc", action="append", metavar="NAME", help=f"only from this document: {names}")
    cmd.add_argument("--not-doc", action="append", metavar="NAME", help="never from this document (named as --doc)")


def _not_utf8(argv: Sequence[str]) -> str | None:
    """What is wrong with the first argument that was not UTF-8 on the command line, if one was not (Python
    keeps such bytes as lone surrogates, which no index, model or JSON output can hold)."""
    for n, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            code = ord(arg[exc.start])
            what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
            try:  # the bytes as they were typed, undecodable ones shown as \xNN
                shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:
                shown = arg.encode("utf-8", "backslashreplace").decode("utf-8")
            shown = shown if len(shown) <= 60 else f"{shown[:60]}..."
            return f'argument {n} is not valid UTF-8 ({what} in "{shown}"); qa reads its arguments as UTF-8'
    return None


def _say(problem: object) -> None:
    print(f"error: {without_keys(problem)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if (problem := _not_utf8(argv)) is not None:
        _say(problem)
        return EXIT_ERROR
    args = _parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return COMMANDS[args.command](args)
    except EmptyIndexError as exc:
        _say(exc)
        return EXIT_EMPTY
    except QAError as exc:
        _say(exc)
        return EXIT_ERROR
    except BrokenPipeError:  # `qa docs | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish (nothing is lost)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
