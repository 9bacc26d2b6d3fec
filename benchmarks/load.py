"""Load on the HTTP service, over loopback only: requests/s and p50/p95 latency of `POST /v1/ask` (extractive
backend) and `POST /v1/search`, at 1, 4 and 16 concurrent clients.

By default it starts the server itself (`qa.server.app.serve`, in a child process so that the clients do not share
its interpreter) over a temporary home holding the seed article; `--url` targets a running `qa serve` instead
(a loopback address only; QA_API_KEY is sent when set). Each cell sends `--requests` requests (the questions
of eval/seed.jsonl in turn) and stops early at `--max-seconds`; the whole run is bounded by both.

    .venv/bin/python benchmarks/load.py [--requests 200] [--clients 1 4 16] [--max-seconds 60]
        [--url http://127.0.0.1:PORT] [--json FILE]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from argparse import RawDescriptionHelpFormatter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from common import REPO, latency, log, stamp, table, write_json

SEED = REPO / "seeds" / "north-korean-troops-in-kursk.txt"
QUESTIONS = [json.loads(line)["question"] for line in (REPO / "eval" / "seed.jsonl").read_text().splitlines()]
ENDPOINTS = ("/v1/ask", "/v1/search")
START_SECONDS = 120


def loopback(url: str) -> str:
    """The URL without a trailing slash, if it points at this machine; else exit."""
    host = urlsplit(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok or urlsplit(url).scheme != "http":
        sys.exit(f"error: --url must be http:// on a loopback address (127.0.0.1, ::1, localhost), not {url!r}")
    return url.rstrip("/")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child(home: str, port: int) -> None:
    """The server process: ingest the seed article into `home`, then serve it (extractive backend)."""
    from qa import QA, Settings
    from qa.server.app import serve

    settings = Settings(home=Path(home), backend="extractive")
    assert QA(settings).ingest([SEED]).ok
    serve(settings, "127.0.0.1", port)


@contextmanager
def own_server() -> Iterator[str]:
    """A server in a child process over a temporary home; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="qa-load-") as folder:
        port = free_port()
        log_path = Path(folder) / "server.log"
        with log_path.open("wb") as out:
            command = [sys.executable, __file__, "--serve", folder, str(port)]
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"error: the server exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"error: the server did not answer within {START_SECONDS} s")


def body(endpoint: str, n: int) -> dict[str, Any]:
    text = QUESTIONS[n % len(QUESTIONS)]
    return {"question": text} if endpoint == "/v1/ask" else {"query": text, "k": 5}


def cell(url: str, endpoint: str, clients: int, requests: int, max_seconds: float) -> dict[str, Any]:
    """`requests` requests from `clients` threads (one keep-alive connection each), stopping at `max_seconds`."""
    taken = iter(range(requests))
    lock = threading.Lock()
    seconds: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    stop = started + max_seconds

    def work() -> None:
        with httpx.Client(base_url=url, headers=_auth(), timeout=max_seconds) as http:
            while time.perf_counter() < stop:
                with lock:
                    n = next(taken, None)
                if n is None:
                    return
                sent = time.perf_counter()
                status = http.post(endpoint, json=body(endpoint, n)).status_code
                elapsed = time.perf_counter() - sent
                with lock:
                    if status == 200:
                        seconds.append(elapsed)
                    else:
                        errors.append(status)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    figures = latency(seconds) if seconds else {"p50_ms": float("nan"), "p95_ms": float("nan"), "n": 0}
    return {"endpoint": endpoint, "clients": clients, "ok": len(seconds), "errors": len(errors),
            "seconds": wall, "rps": len(seconds) / wall, **figures}  # fmt: skip


def run(url: str, clients: Sequence[int], requests: int, max_seconds: float) -> list[dict[str, Any]]:
    for n in range(8):  # warm up: model, BM25 index, connections
        httpx.post(f"{url}{ENDPOINTS[n % 2]}", json=body(ENDPOINTS[n % 2], n), timeout=60, headers=_auth())
    results = []
    for endpoint in ENDPOINTS:
        for count in clients:
            result = cell(url, endpoint, count, requests, max_seconds)
            log(f"  {endpoint} x{count}: {result['rps']:.1f} req/s, p50 {result['p50_ms']:.0f} ms")
            results.append(result)
    return results


def _auth() -> dict[str, str]:
    key = os.environ.get("QA_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests per cell (default 200)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="concurrent clients")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap per cell (default 60)")
    parser.add_argument("--url", help="a running server on loopback, e.g. http://127.0.0.1:8000")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        child(args.serve[0], int(args.serve[1]))
        return 0
    if args.requests < 1 or args.max_seconds <= 0 or min(args.clients) < 1 or max(args.clients) > 64:
        parser.error("need --requests >= 1, --max-seconds > 0 and 1 <= --clients <= 64")
    with own_server() if args.url is None else _given(loopback(args.url)) as url:
        log(f"load on {url}: {args.requests} requests per cell, at most {args.max_seconds:g} s each")
        results = run(url, args.clients, args.requests, args.max_seconds)
    headers = ["endpoint", "clients", "ok", "errors", "req/s", "p50 ms", "p95 ms"]
    rows = [[r["endpoint"], r["clients"], r["ok"], r["errors"], f"{r['rps']:.1f}", f"{r['p50_ms']:.0f}",
             f"{r['p95_ms']:.0f}"] for r in results]  # fmt: skip
    print(table(headers, rows))
    print(f"\n{stamp()}; backend extractive, seed article, {'own server' if args.url is None else args.url}")
    write_json(args.json, {"requests": args.requests, "max_seconds": args.max_seconds, "cells": results})
    return 1 if any(r["errors"] for r in results) else 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    sys.exit(main())
