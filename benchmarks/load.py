"""Load on the HTTP service, over loopback only: requests/s, p50/p95 latency and errors of `POST /v1/ask`
(extractive backend) and `POST /v1/search`, at several numbers of concurrent clients, and of several `qa serve`
processes sharing one Chroma server.

By default it starts one server itself (`qa.server.app.serve`, in a child process so that the clients do not
share its interpreter) over a temporary home holding the seed article in embedded Chroma. With `--processes
1 2`, it starts a `chroma run` server and as many `qa serve` processes on it as the largest count (each with its
own home, as replicas on separate machines would have), and runs each cell on the first 1, then the first 2 of
them, the clients spread over them in turn; `--embedded` adds one server over embedded Chroma to each cell, for
comparison. The groups take turns cell by cell, so their figures for a cell are taken under much the same load.
`--url` targets running servers instead (loopback addresses only; QA_API_KEY is sent when set). Each cell sends
`--requests` requests (the questions of eval/seed.jsonl in turn) and stops early at `--max-seconds`; the whole
run is bounded by both. A request that gets no 200 (or no answer at all) is an error.

    .venv/bin/python benchmarks/load.py [--requests 200] [--clients 1 4 16] [--max-seconds 60]
        [--processes 1 2 [--embedded]] [--url http://127.0.0.1:PORT ...] [--json FILE]
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
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from common import REPO, latency, log, stamp, table, write_json

SEED = REPO / "seeds" / "north-korean-troops-in-kursk.txt"
QUESTIONS = [json.loads(line)["question"] for line in (REPO / "eval" / "seed.jsonl").read_text().splitlines()]
ENDPOINTS = ("/v1/ask", "/v1/search")
START_SECONDS = 120
QUIET = {"ANONYMIZED_TELEMETRY": "False"}  # Chroma's telemetry, in the server and the clients


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


def child(home: str, port: int, chroma_url: str | None) -> None:
    """A server process: ingest the seed article (unchanged if another process did), then serve (extractive)."""
    from qa import QA, Settings
    from qa.server.app import serve

    settings = Settings(home=Path(home), backend="extractive", chroma_url=chroma_url)
    assert QA(settings).ingest([SEED]).ok
    serve(settings, "127.0.0.1", port)


@contextmanager
def process(name: str, command: Sequence[str], ready_url: str, log_path: Path) -> Iterator[None]:
    """Run `command` (output to `log_path`) until the block ends, once `ready_url` answers 200."""
    with log_path.open("wb") as out:
        env = {**os.environ, **QUIET}
        started = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_until_up(name, ready_url, started, log_path)
        yield
    finally:
        started.terminate()
        started.wait(timeout=30)


def wait_until_up(name: str, url: str, started: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if started.poll() is not None:
            sys.exit(f"error: {name} exited with {started.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    sys.exit(f"error: {name} did not answer within {START_SECONDS} s")


@contextmanager
def qa_server(folder: Path, chroma_url: str | None = None) -> Iterator[str]:
    """A `qa serve` child process over the home `folder` (and the Chroma server, if given); yields its URL."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, __file__, "--serve", str(folder), str(port)]
    command += ["--serve-chroma", chroma_url] if chroma_url else []
    url = f"http://127.0.0.1:{port}"
    with process("the qa server", command, f"{url}/healthz", folder / "server.log"):
        yield url


@contextmanager
def chroma_server(folder: Path) -> Iterator[str]:
    """A `chroma run` child process storing under `folder`; yields its URL."""
    port = free_port()
    executable = str(Path(sys.executable).with_name("chroma"))
    command = [executable, "run", "--path", str(folder / "data"), "--port", str(port), "--host", "127.0.0.1"]
    url = f"http://127.0.0.1:{port}"
    with process("the Chroma server", command, f"{url}/api/v2/heartbeat", folder / "chroma.log"):
        yield url


def body(endpoint: str, n: int) -> dict[str, Any]:
    text = QUESTIONS[n % len(QUESTIONS)]
    return {"question": text} if endpoint == "/v1/ask" else {"query": text, "k": 5}


def cell(urls: Sequence[str], endpoint: str, clients: int, requests: int, max_seconds: float) -> dict[str, Any]:
    """`requests` requests from `clients` threads (one keep-alive connection each, client i to server i mod N),
    stopping at `max_seconds`."""
    taken = iter(range(requests))
    lock = threading.Lock()
    seconds: list[float] = []
    errors: list[int] = []  # the status of each failed request; 0 when none came
    started = time.perf_counter()
    stop = started + max_seconds

    def work(url: str) -> None:
        with httpx.Client(base_url=url, headers=_auth(), timeout=max_seconds) as http:
            while time.perf_counter() < stop:
                with lock:
                    n = next(taken, None)
                if n is None:
                    return
                sent = time.perf_counter()
                try:
                    status = http.post(endpoint, json=body(endpoint, n)).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = time.perf_counter() - sent
                with lock:
                    if status == 200:
                        seconds.append(elapsed)
                    else:
                        errors.append(status)

    threads = [threading.Thread(target=work, args=(urls[i % len(urls)],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    figures = latency(seconds) if seconds else {"p50_ms": float("nan"), "p95_ms": float("nan"), "n": 0}
    return {"processes": len(urls), "endpoint": endpoint, "clients": clients, "ok": len(seconds),
            "errors": len(errors), "seconds": wall, "rps": len(seconds) / wall, **figures}  # fmt: skip


Group = tuple[str, Sequence[str]]  # what store the servers use ("embedded", "server"), and their URLs


def run(groups: Sequence[Group], clients: Sequence[int], requests: int, max_seconds: float) -> list[Any]:
    """Each cell (endpoint, clients) on each group of servers in turn, so that the groups' figures for one cell
    are taken minutes apart at most, under much the same load from other work."""
    for url in dict.fromkeys(url for _, group in groups for url in group):
        for n in range(8):  # warm up: model, BM25 index, connections
            httpx.post(f"{url}{ENDPOINTS[n % 2]}", json=body(ENDPOINTS[n % 2], n), timeout=60, headers=_auth())
    results = []
    for endpoint in ENDPOINTS:
        for count in clients:
            for store, urls in groups:
                result = {"store": store, **cell(urls, endpoint, count, requests, max_seconds)}
                log(f"  {store} {len(urls)} x {endpoint} x{count}: {result['rps']:.1f} req/s, "
                    f"p50 {result['p50_ms']:.0f} ms")  # fmt: skip
                results.append(result)
    return results


def replicas(processes: Sequence[int], embedded: bool, clients: Sequence[int], requests: int, max_seconds: float
             ) -> list[Any]:  # fmt: skip
    """One Chroma server and max(processes) `qa serve` processes on it; each cell is run on the first N of them
    for each N in `processes`, and first on one server over embedded Chroma if `embedded`."""
    with tempfile.TemporaryDirectory(prefix="qa-load-") as folder, ExitStack() as stack:
        chroma = stack.enter_context(chroma_server(Path(folder)))
        homes = [Path(folder) / f"replica-{n}" for n in range(max(processes))]
        urls = [stack.enter_context(qa_server(home, chroma)) for home in homes]  # each with its own home
        log(f"{len(urls)} qa serve process(es) over the Chroma server {chroma}")
        groups: list[Group] = [("server", urls[:count]) for count in sorted(set(processes))]
        if embedded:
            groups.insert(0, ("embedded", [stack.enter_context(qa_server(Path(folder) / "embedded"))]))
        return run(groups, clients, requests, max_seconds)


def _auth() -> dict[str, str]:
    key = os.environ.get("QA_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200, help="requests per cell (default 200)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="concurrent clients")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="time cap per cell (default 60)")
    parser.add_argument("--processes", type=int, nargs="+", help="qa serve processes on one Chroma server")
    parser.add_argument("--embedded", action="store_true", help="with --processes: also one over embedded Chroma")
    parser.add_argument("--url", nargs="+", help="running servers on loopback, e.g. http://127.0.0.1:8000")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--serve", nargs=2, metavar=("HOME", "PORT"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-chroma", help=argparse.SUPPRESS)
    return parser


def measure(args: argparse.Namespace) -> tuple[list[dict[str, Any]], str]:
    """The figures of every cell, and what they were measured on."""
    if args.processes:
        results = replicas(args.processes, args.embedded, args.clients, args.requests, args.max_seconds)
        return results, "qa serve processes over one Chroma server" + (" and one embedded" if args.embedded else "")
    if args.url:
        urls = [loopback(url) for url in args.url]
        return run([("given", urls)], args.clients, args.requests, args.max_seconds), " ".join(urls)
    with tempfile.TemporaryDirectory(prefix="qa-load-") as folder, qa_server(Path(folder)) as url:
        return run([("embedded", [url])], args.clients, args.requests, args.max_seconds), "own server"


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.serve:
        child(args.serve[0], int(args.serve[1]), args.serve_chroma)
        return 0
    if args.requests < 1 or args.max_seconds <= 0 or min(args.clients) < 1 or max(args.clients) > 64:
        parser.error("need --requests >= 1, --max-seconds > 0 and 1 <= --clients <= 64")
    if args.processes and (args.url or min(args.processes) < 1 or max(args.processes) > 8):
        parser.error("--processes takes counts from 1 to 8, and not with --url")
    if args.embedded and not args.processes:
        parser.error("--embedded goes with --processes (without it the one server is embedded already)")
    log(f"{args.requests} requests per cell, at most {args.max_seconds:g} s each")
    before = os.getloadavg()[0]
    results, where = measure(args)
    headers = ["store", "processes", "endpoint", "clients", "ok", "errors", "req/s", "p50 ms", "p95 ms"]
    rows = [[r["store"], r["processes"], r["endpoint"], r["clients"], r["ok"], r["errors"], f"{r['rps']:.1f}",
             f"{r['p50_ms']:.0f}", f"{r['p95_ms']:.0f}"] for r in results]  # fmt: skip
    print(table(headers, rows))
    print(f"\n{stamp()}; load average (1 min) {before:.2f} before, {os.getloadavg()[0]:.2f} after; "
          f"backend extractive, seed article, {where}")  # fmt: skip
    write_json(args.json, {"requests": args.requests, "max_seconds": args.max_seconds, "cells": results})
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
