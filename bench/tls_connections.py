"""What a connector's new HTTPS connection costs, in one command: a table on stdout, the figures in a JSON file.

    .venv/bin/python bench/tls_connections.py                       # 16 threads, 10 rounds
    .venv/bin/python bench/tls_connections.py --threads 32 --rounds 5

Two HTTPS servers on 127.0.0.1 stand in for two vendors. Their self-signed certificates are added to certifi's
bundle in a file of the run's, named by REQUESTS_CA_BUNDLE, so that verifying loads a bundle of certifi's size,
as it does against a real vendor. Each way of connecting runs in a process of its own: `--threads` threads, each
with a session per server (as the connectors keep a session per system and thread), open a new connection to
each server `--rounds` times (the sessions' connections closed between rounds), then once more and leave it open.

The ways: `requests.Session` (urllib3 builds a TLS context for each connection and loads the bundle into it) and
`system_apis.http.PooledSession` (the process's context for the bundle, loaded once). Per way: CPU ms per new
connection (the client process's utime + stime, handshakes included) and how much the resident memory grew with
every thread's connections open.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess  # noqa: S404
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import certifi
import requests

if __package__ in (None, ""):  # run as a script: `python bench/tls_connections.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.deployment import ROOT
from bench.measure import format_table, machine
from bench.tls import https_server, ok_handler, self_signed

WAYS = ("requests.Session", "PooledSession")


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def connect(way: str, urls: list[str], threads: int, rounds: int) -> dict:
    """In this process: every thread's sessions open `rounds` new connections to each URL, then one more each."""
    if way == "PooledSession":
        from system_apis.http import PooledSession as session_class
    else:
        session_class = requests.Session
    sessions = [[session_class() for _ in urls] for _ in range(threads)]
    sessions[0][0].get(urls[0], timeout=10).close()  # imports and the first handshake out of the figures
    sessions[0][0].close()
    before_memory, before_cpu = resident_mb(), cpu_seconds()

    def client(own: list[requests.Session]) -> None:
        for round_number in range(rounds + 1):
            for session, url in zip(own, urls, strict=True):
                assert session.get(url, timeout=10).content == b"ok"
                if round_number < rounds:
                    session.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for finished in [pool.submit(client, own) for own in sessions]:
            finished.result()  # a failed call fails the run
    connections = threads * len(urls) * (rounds + 1)
    return {
        "way": way,
        "connections": connections,
        "cpu_ms_per_connection": (cpu_seconds() - before_cpu) * 1000 / connections,
        "open_connections": threads * len(urls),
        "memory_grown_mb": resident_mb() - before_memory,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=16, help="threads, each with a session per server (16)")
    parser.add_argument("--rounds", type=int, default=10, help="new connections per session before the last (10)")
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default: var/bench/...)")
    parser.add_argument("--way", choices=WAYS, help=argparse.SUPPRESS)  # one way, in the process of its own
    parser.add_argument("--urls", nargs="*", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.way:
        print(json.dumps(connect(args.way, args.urls, args.threads, args.rounds)))
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = args.json or ROOT / "var" / "bench" / f"tls-connections-{stamp}" / "tls_connections.json"
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        urls, certificates = [], []
        for name in ("servicenow", "salesforce"):
            cert, key = self_signed(Path(scratch) / name, "127.0.0.1", f"{name} stand-in")
            port = servers.enter_context(https_server(ok_handler(), cert, key))
            urls.append(f"https://127.0.0.1:{port}/")
            certificates.append(cert.read_text())
        bundle = Path(scratch) / "bundle.pem"
        bundle.write_text(Path(certifi.where()).read_text() + "".join(certificates))
        environment = {**os.environ, "REQUESTS_CA_BUNDLE": str(bundle), "PYTHONPATH": str(ROOT)}
        rows = []
        for way in WAYS:
            command = [sys.executable, __file__, "--way", way, "--threads", str(args.threads)]
            command += ["--rounds", str(args.rounds), "--urls", *urls]
            output = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)  # noqa: S603
            rows.append(json.loads(output.stdout.splitlines()[-1]))
    print(
        format_table(
            f"A new HTTPS connection ({args.threads} threads x 2 servers, {args.rounds + 1} connections each; "
            f"CA bundle of {len(Path(certifi.where()).read_text()) // 1024} KB)",
            ["way", "connections", "CPU ms each", "open at the end", "memory grown MB"],
            [
                [
                    row["way"],
                    row["connections"],
                    row["cpu_ms_per_connection"],
                    row["open_connections"],
                    row["memory_grown_mb"],
                ]
                for row in rows
            ],
            note="CPU: the client process's, handshakes included; memory: resident, after the last connections, "
            "left open.",
        )
    )
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(
        json.dumps({"machine": machine(), "threads": args.threads, "rounds": args.rounds, "ways": rows}, indent=2)
    )
    print(f"JSON: {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
