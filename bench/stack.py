"""A whole production deployment for a benchmark run, started from Procfile.production on this machine.

PostgreSQL databases of the run's own (Incident Hub's, the legacy customers', the sandbox's), dropped at the
end; two Redis databases of the local server (cache and broker: 8 and 9 unless told otherwise), emptied before
and after (so one run at a time on them: a lock file per pair says so); the sandbox on gunicorn as the vendors;
the release step; then the application's processes (web, a worker per queue, beat, or some of them), which a run
may restart with other settings.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import secrets
import socket
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests
from celery import Celery

from bench.deployment import (
    BIN,
    Deployment,
    free_port,
    postgres_databases,
    procfile,
    redis_databases,
    staging_environment,
    start_sandbox,
    wait_for_worker,
    wait_until_up,
)
from bench.load import get_token

# What a TLS-terminating proxy in front adds; production settings redirect plain HTTP otherwise.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
APP_PROCESSES = ("web", "worker_servicenow", "worker_slack", "beat")
WORKERS = {"worker_servicenow": "servicenow", "worker_slack": "slack"}
LOCK_PATH = Path("/tmp/incident-hub-bench.lock")  # noqa: S108 - one machine-wide lock, by design
REDIS_DATABASES = (8, 9)  # cache, broker
SANDBOX_THREADS = 32


def add_server_arguments(
    parser: argparse.ArgumentParser,
    *,
    redis_help: str = "Redis server; databases 8 (cache) and 9 (broker) are emptied and used",
) -> None:
    """`--postgres` and `--redis`: the servers a run's Stack makes its databases on."""
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="PostgreSQL server (trust or password in the URL); the run makes and drops databases",
    )
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379"), help=redis_help)


def with_port(url: str, port: int, query: str = "") -> str:
    """`url` with its host's port replaced (e.g. to go through a proxy on 127.0.0.1)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc, query=query or parts.query))


def lock_path(redis_databases: tuple[int, int]) -> Path:
    """The lock of a pair of Redis databases on this machine (the usual pair's path is the one it always had)."""
    if redis_databases == REDIS_DATABASES:
        return LOCK_PATH
    cache, broker = redis_databases
    return LOCK_PATH.with_name(f"incident-hub-bench-redis-{cache}-{broker}.lock")


class Stack:
    """The deployment of one run. Use as a context manager; `start_app()` starts the application's processes."""

    def __init__(
        self,
        *,
        postgres: str,
        redis_server: str,
        logs: Path,
        settings: dict[str, str],
        redis_databases: tuple[int, int] = REDIS_DATABASES,
    ) -> None:
        self.run = time.strftime("%Y%m%d%H%M%S") + "_" + secrets.token_hex(3)
        self.postgres = postgres.rstrip("/")
        self.cache_url = f"{redis_server.rstrip('/')}/{redis_databases[0]}"
        self.broker_url = f"{redis_server.rstrip('/')}/{redis_databases[1]}"
        self.lock_path = lock_path(redis_databases)
        self.logs = logs
        self.settings = settings
        self.processes = procfile()
        self.names = {
            "main": f"ih_bench_{self.run}",
            "legacy": f"ih_bench_legacy_{self.run}",
            "sandbox": f"ih_bench_sandbox_{self.run}",
        }
        self.urls: dict[str, str] = {}
        self.sandbox = f"http://127.0.0.1:{free_port()}"
        self.web = ""
        self.token = ""
        self.hub: Deployment | None = None
        self._exit = ExitStack()
        self._lock: IO | None = None
        self.control = Celery(broker=self.broker_url, set_as_current=False)

    # --- the run's lifetime -------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.hub:
            self.hub.stop_all()
        self._exit.close()
        if self._lock:
            self._lock.close()

    def _start(self) -> None:
        self._lock = self.lock_path.open("w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            databases = f"{self.cache_url.rsplit('/', 1)[1]} and {self.broker_url.rsplit('/', 1)[1]}"
            raise SystemExit(
                f"another benchmark run holds {self.lock_path} (Redis databases {databases} are its)"
            ) from None
        server = f"{self.postgres}/postgres"
        main, legacy, sandbox_db = self._exit.enter_context(postgres_databases(server, *self.names.values()))
        self.urls = {"main": main, "legacy": legacy, "sandbox": sandbox_db}
        self._exit.enter_context(redis_databases(self.cache_url, self.broker_url))
        self.logs.mkdir(parents=True, exist_ok=True)
        self.hub = Deployment(
            {
                **staging_environment(
                    main=main,
                    legacy=legacy,
                    sandbox_db=sandbox_db,
                    cache_url=self.cache_url,
                    broker_url=self.broker_url,
                    sandbox=self.sandbox,
                    state=self.logs.parent,
                ),
                **self.settings,
            },
            self.logs,
        )
        start_sandbox(self.hub, self.sandbox, threads=SANDBOX_THREADS)
        self.hub.run(self.processes["release"])
        self.hub.run(f"{BIN}/python manage.py seed_legacy_customers")
        output = self.hub.run(f"{BIN}/python manage.py create_api_client bench --tier gold")
        self.credentials = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
        self.web = f"http://127.0.0.1:{free_port()}"

    # --- the application's processes ------------------------------------------------------------------

    def start_app(
        self,
        *,
        beat: bool = True,
        common: dict[str, str] | None = None,
        per_process: dict[str, dict[str, str]] | None = None,
        only: tuple[str, ...] = APP_PROCESSES,
    ) -> None:
        """Web, a worker per queue and (unless told otherwise) beat, or `only` some of them, with `common` and then
        `per_process[name]` over the run's settings."""
        assert self.hub is not None
        names = [name for name in APP_PROCESSES if name in only and (beat or name != "beat")]
        for name in names:
            environment = {**(common or {}), **(per_process or {}).get(name, {})}
            if name == "web":
                environment["PORT"] = self.web.rsplit(":", 1)[1]
            self.hub.start(name, self.processes[name], **environment)
        if "web" in names:
            wait_until_up(f"{self.web}/health/live")
        for name, queue in WORKERS.items():
            if name in names:
                wait_for_worker(self.control, f"{queue}@{socket.gethostname()}", timeout=120)
        if "web" in names and not self.token:
            self.token = get_token(
                self.web, self.credentials["client_id"], self.credentials["client_secret"], PROXY_HEADERS
            )

    def stop_app(self) -> None:
        assert self.hub is not None
        for name in APP_PROCESSES:
            if name in self.hub.processes:
                self.hub.stop(name)

    def restart(self, name: str, **environment: str) -> None:
        """One application process stopped (SIGTERM, as a supervisor does) and started again with `environment`."""
        assert self.hub is not None
        self.hub.stop(name)
        command = self.processes[name]
        if name == "web":
            self.hub.start(name, command, PORT=self.web.rsplit(":", 1)[1], **environment)
            wait_until_up(f"{self.web}/health/live")
        else:
            self.hub.start(name, command, **environment)
            if name in WORKERS:
                wait_for_worker(self.control, f"{WORKERS[name]}@{socket.gethostname()}", timeout=120)

    def pid(self, name: str) -> int | None:
        """The pid of a running process of the deployment (None when it is not running)."""
        process = self.hub.processes.get(name) if self.hub else None
        return process.pid if process and process.poll() is None else None

    # --- reading the state ---------------------------------------------------------------------------

    def connect(self, database: str) -> psycopg.Connection:
        """An autocommit connection of the benchmark's own to one of the run's databases."""
        return psycopg.connect(self.urls[database], autocommit=True)

    def health(self) -> int:
        return requests.get(f"{self.web}/health/ready", headers=PROXY_HEADERS, timeout=10).status_code
