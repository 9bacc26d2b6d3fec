"""Servers the tests start as child processes on loopback: a free port, start, wait until up, stop.

The Chroma server (conftest.py), the Streamlit app (test_ui_browser.py), llama.cpp's OpenAI-compatible server
(test_llm_backends.py) and `qa serve` (`qa_serve`) all go the same way: `server_process(...)` starts the command
with its output in a log file, waits until a URL answers 200, yields what it answered, and stops the process when
the block ends. A process that exits early, or a URL that never answers, fails the test with the end of the log.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a log file, for a failure message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_until_up(name: str, url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 30) -> bytes:
    """Poll `url` until it answers 200 and return the body; fail the test (with the log's tail) if the process
    exits or `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return bytes(response.read())
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer on {url} within {seconds:g} s:\n{log_tail(log)}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], seconds: float = 10) -> None:
    """Terminate the process; kill it if it has not exited after `seconds`."""
    process.terminate()
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=seconds)


@contextmanager
def server_process(
    name: str,
    command: Sequence[str],
    ready_url: str,
    log: Path,
    *,
    seconds: float = 30,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """Run `command` (output to `log`) until the block ends; yields the body of `ready_url`'s first 200 answer.

    `name` says which server in a failure ("the Chroma server exited with 1: ..."); `seconds` is how long it may
    take to come up.
    """
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        yield wait_until_up(name, ready_url, process, log, seconds)
    finally:
        stop(process)


def sse(text: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of a server-sent event stream; data parsed as JSON where it is JSON."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = fields["data"]
        out.append((fields.get("event", "message"), data if data == "[DONE]" else json.loads(data)))
    return out


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any QA_*/OPENAI_* setting a developer may have exported, plus `extra`
    (for a child that must read only the settings the test gives it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QA_", "OPENAI_"))}
    return {**env, **extra}


@contextmanager
def qa_serve(folder: Path, name: str = "qa serve", *, seconds: float = 60, **settings: str) -> Iterator[str]:
    """A `qa serve` process on a free loopback port, run from `folder` (its log there too) with `settings` as its
    only QA_*/OPENAI_* environment (`QA_HOME="..."`, `QA_CHROMA_URL="..."`); yields its URL once /healthz
    answers."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "qa", "serve", "--port", str(port)]
    log = folder / f"{name.replace(' ', '-')}.log"
    with server_process(name, command, f"{url}/healthz", log, seconds=seconds, cwd=folder, env=clean_env(**settings)):
        yield url
