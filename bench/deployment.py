"""Procfile.production started for real on this machine: each process as the recipe says, logs to files.

Shared by the scale-out tests (tests/scaleout/) and the benchmarks (bench/).

Every process runs in a session of its own, so a SIGKILL takes a worker with its whole pool (as a lost machine
would), and whatever is left is stopped when the deployment ends. The databases, the Redis databases and the
RabbitMQ virtual host are made for the run and removed after it.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import requests
from celery import Celery

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def procfile(path: Path = ROOT / "Procfile.production") -> dict[str, str]:
    """The process types of a Procfile by name, their `.venv/bin/` programs taken from the running interpreter's."""
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            entries[name.strip()] = command.strip().replace(".venv/bin/", f"{BIN}/")
    return entries


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.3)


def wait_for_worker(control: Celery, worker: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not control.control.ping(destination=[worker], timeout=1.0):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the worker {worker} did not answer within {timeout:.0f} s")


def tasks_held(control: Celery, worker: str) -> int:
    """Tasks the worker holds: running, prefetched, or waiting for their retry's time."""
    inspect = control.control.inspect(destination=[worker], timeout=1.0)
    return sum(
        len(held.get(worker, []))
        for held in (inspect.active() or {}, inspect.reserved() or {}, inspect.scheduled() or {})
    )


@contextmanager
def postgres_databases(server_url: str, *names: str) -> Iterator[list[str]]:
    """Empty databases on the server of `server_url`, dropped afterwards; yields their URLs."""
    admin = urlunsplit(urlsplit(server_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [urlunsplit(urlsplit(server_url)._replace(path=f"/{name}")) for name in names]
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def redis_databases(*urls: str) -> Iterator[None]:
    """Redis databases emptied before and after the run."""

    def flush() -> None:
        for url in urls:
            redis.Redis.from_url(url).flushdb()

    flush()
    try:
        yield
    finally:
        flush()


@contextmanager
def rabbitmq_vhost(broker_url: str, name: str) -> Iterator[str]:
    """A virtual host of the broker's own for the run (its queues and messages go with it); yields its URL."""
    user = urlsplit(broker_url).username or "guest"
    for command in (["add_vhost", name], ["set_permissions", "-p", name, user, ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *command], check=True, capture_output=True, timeout=60)  # noqa: S603, S607
    try:
        yield urlunsplit(urlsplit(broker_url)._replace(path=f"/{name}"))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], capture_output=True, timeout=60)  # noqa: S603, S607


class Deployment:
    """Named processes with one environment, each logging to `<logs>/<name>.log`."""

    def __init__(self, environment: dict[str, str], logs: Path) -> None:
        self.environment = {**os.environ, **environment}
        self.logs = logs
        self.processes: dict[str, subprocess.Popen] = {}

    def run(self, command: str, **environment: str) -> str:
        """A one-off command (the release step, a management command) to its end; its output."""
        finished = subprocess.run(  # noqa: S603
            ["/bin/sh", "-c", command],
            cwd=ROOT,
            env={**self.environment, **environment},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if finished.returncode:
            raise AssertionError(f"{command!r} failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
        return finished.stdout

    def start(self, name: str, command: str, **environment: str) -> subprocess.Popen:
        with (self.logs / f"{name}.log").open("a") as log:
            process = subprocess.Popen(  # noqa: S603
                ["/bin/sh", "-c", f"exec {command}"],
                cwd=ROOT,
                env={**self.environment, **environment},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def stop(self, name: str, timeout: float = 40.0) -> None:
        """SIGTERM, as a supervisor stops a process: it finishes what it is doing, then exits."""
        process = self.processes.pop(name)
        self._signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(process, signal.SIGKILL)
            process.wait()

    def kill(self, name: str) -> None:
        """SIGKILL to the process and everything it started: nothing is finished, nothing acknowledged."""
        process = self.processes.pop(name)
        self._signal(process, signal.SIGKILL)
        process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name, timeout=15)

    def log_tails(self, characters: int = 2500) -> str:
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-characters:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    @staticmethod
    def _signal(process: subprocess.Popen, number: int) -> None:
        try:
            os.killpg(process.pid, number)
        except ProcessLookupError:
            pass


def staging_environment(
    *, main: str, legacy: str, sandbox_db: str, cache_url: str, broker_url: str, sandbox: str, state: Path
) -> dict[str, str]:
    """The production settings of a staging deployment whose vendors are a sandbox of its own (said so, as the
    production checks ask), behind a TLS-terminating proxy; `state` holds its static files and var folder."""
    return {
        "DJANGO_SETTINGS_MODULE": "incidents_site.settings_production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_TRUST_X_FORWARDED_PROTO": "true",
        "DATABASE_URL": main,
        "LEGACY_DATABASE_URL": legacy,
        "REDIS_URL": cache_url,
        "CELERY_BROKER_URL": broker_url,
        "INCIDENT_HUB_STAGING_ON_SANDBOX": "true",
        "SERVICENOW_BASE_URL": f"{sandbox}/servicenow",
        "SALESFORCE_BASE_URL": f"{sandbox}/salesforce",
        "SLACK_API_URL": f"{sandbox}/slack/api/",
        # The customer's e-mail goes to the worker's log: no SMTP server is started with this sandbox.
        "EMAIL_URL": "console://",
        "SANDBOX_DATABASE_URL": sandbox_db,
        "STATIC_ROOT": str(state / "static"),
        "INCIDENT_HUB_VAR_DIR": str(state / "var"),
    }


def start_sandbox(hub: Deployment, sandbox: str, *, threads: int) -> None:
    """The sandbox, migrated and seeded, on gunicorn at `sandbox`'s port (its own settings and database). Its
    ServiceNow posts no incident changes: their default address is `make run`'s, which may be someone's."""
    as_sandbox = {"DJANGO_SETTINGS_MODULE": "incidents_site.settings_sandbox", "SANDBOX_SERVICENOW_EVENT_URL": ""}
    hub.run(f"{BIN}/python manage.py migrate --noinput -v 0 && {BIN}/python manage.py seed_sandbox", **as_sandbox)
    port = sandbox.rsplit(":", 1)[1]
    hub.start(
        "sandbox",
        f"{BIN}/gunicorn incidents_site.wsgi --bind 127.0.0.1:{port} --worker-class gthread --threads {threads}",
        **as_sandbox,
    )
    wait_until_up(f"{sandbox}/")
