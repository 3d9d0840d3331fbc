"""Performance of a real deployment, in one command: a table per question on stdout, everything in a JSON file.

    .venv/bin/python bench/perf.py            # the full run (about 20 minutes on 2 cores)
    .venv/bin/python bench/perf.py --quick    # small sizes, for trying it out (about 5 minutes)
    .venv/bin/python bench/perf.py --phases throughput,p2p

It starts its own deployment from Procfile.production (bench/stack.py): PostgreSQL databases of its own on
127.0.0.1:5432 (dropped at the end), Redis databases 8 and 9 of 127.0.0.1:6379, the sandbox as the vendors,
gunicorn web, a Celery worker per queue and beat, then measures in phases:

  counts      main-database statements, commits, transactions and round trips, legacy-database statements,
              Redis commands and round trips, per report and per process, read off the wire by counting proxies
              (bench/wire.py) put between each process and PostgreSQL / Redis
  throughput  reports/s and latency at c=1/4/8/32 (closed loop, REST v1), CPU per report of each process
  p2p         the layering tax: the full flow against bench/p2p (the same calls made directly, by a plain view
              in the site and by a bare one), web CPU and latency, in turns at c=1 and c=4
  vendors     the sandbox at ServiceNow 400 ms / Salesforce 150 ms: c=32 sustained, then a burst (500 in 10 s)
  pacing      Slack paced at 1 message/s: commit->Slack on an idle channel, then a burst of 300 reports (task
              runs per message, the Slack worker's CPU while it waits)
  rss         resident memory of the web and worker processes after the reports so far (--soak adds some)
  trace       the call trace on against off (c=4, in turns, the app restarted with CALL_TRACE_ENABLED set)

Figures are what this run measured on this machine, numbers and ratios to read, never pass/fail tests; the
last table sets them beside issue 13's targets. How many cores were busy (ours and others') is printed with
them: on a busy machine every figure is worse than on a quiet one.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

if __package__ in (None, ""):  # run as a script: `python bench/perf.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.deployment import BIN, ROOT, free_port
from bench.load import REFERENCE, report_body, set_faults
from bench.measure import (
    CpuMeter,
    busy_cores,
    difference,
    format_table,
    git_commit,
    latency_summary,
    machine,
    machine_cpu,
    own_cpu_seconds,
    per_report,
    percentile,
    ratio,
    rss_kib,
    tree_members,
    wait_for,
    write_json,
)
from bench.p2p.views import TABLE_DDL
from bench.stack import PROXY_HEADERS, WORKERS, Stack, add_server_arguments, with_port
from bench.wire import CountingProxies, tally_difference

PHASES = ("counts", "throughput", "p2p", "vendors", "pacing", "rss", "trace")
VENDOR_LATENCY = {"servicenow": {"latency_ms": 400}, "salesforce": {"latency_ms": 150}}
# The processes whose CPU is measured: trees of the deployment's processes, and the PostgreSQL backends
# serving the run's databases (Incident Hub's and the legacy one: "database"; the sandbox's: "sandbox_db").
TREES = ("web", "worker_servicenow", "worker_slack", "beat", "sandbox", "p2p", "p2p_bare")
# The point-to-point view in the site (what the layering tax is measured against) and bare (the floor).
P2P_VARIANTS = {"p2p": "bench.p2p.site_settings", "p2p_bare": "bench.p2p.settings"}
CPU_COLUMNS = ("web", "worker", "sandbox", "database", "sandbox_db", "bench")
SLACK_TASK = "process_apis.deliver_notification"
TASK_RUN = re.compile(re.escape(SLACK_TASK) + r"\[[0-9a-f-]+\] (?:succeeded|raised|retry)")


@dataclass(frozen=True)
class Sizes:
    warmup: int  # reports sent to freshly started processes before anything is measured
    counted: int  # reports whose statements and round trips are counted
    seconds: float  # each closed-loop level
    rounds: int  # turns taken by the variants compared back to back (layering tax)
    levels: tuple[int, ...]
    vendor_seconds: float
    burst: tuple[int, float]  # reports, seconds
    idle_reports: int  # commit->Slack on an idle channel
    idle_gap: float
    pacing_reports: int
    soak: int


FULL = Sizes(
    warmup=40,
    counted=100,
    seconds=30.0,
    rounds=3,
    levels=(1, 4, 8, 32),
    vendor_seconds=30.0,
    burst=(500, 10.0),
    idle_reports=30,
    idle_gap=1.5,
    pacing_reports=300,
    soak=0,
)
QUICK = Sizes(
    warmup=20,
    counted=12,
    seconds=6.0,
    rounds=1,
    levels=(1, 4, 8, 32),
    vendor_seconds=8.0,
    burst=(150, 3.0),
    idle_reports=6,
    idle_gap=1.5,
    pacing_reports=30,
    soak=0,
)


# --- sending reports ------------------------------------------------------------------------------


@dataclass
class Sent:
    number: int
    status: int | None
    seconds: float
    reference: str | None = None
    answered_at: float = 0.0  # wall clock (time.time()) when the answer arrived
    error: str = ""
    attempts: int = 1


@dataclass
class Batch:
    sent: list[Sent]
    elapsed: float
    clients: int
    extra: dict = field(default_factory=dict)

    @property
    def accepted(self) -> list[Sent]:
        return [one for one in self.sent if one.status == 201]

    @property
    def errors(self) -> dict[str, int]:
        return dict(Counter(str(one.status or one.error) for one in self.sent if one.status != 201))

    @property
    def rps(self) -> float:
        return len(self.accepted) / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict:
        return {
            "clients": self.clients,
            "sent": len(self.sent),
            "accepted": len(self.accepted),
            "errors": self.errors,
            "seconds": round(self.elapsed, 3),
            "rps": round(self.rps, 2),
            **{key: round(value, 1) for key, value in latency_summary([s.seconds for s in self.accepted]).items()},
            **self.extra,
        }


class Reporter:
    """Reports over REST v1 as an API client: closed loops of N clients, or an open-loop burst."""

    def __init__(self, token: str, run_id: str, idempotency_keys: bool = True) -> None:
        self.token = token
        self.run_id = run_id
        self.keys = idempotency_keys
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update({**PROXY_HEADERS, "Authorization": f"Bearer {self.token}"})
        return session

    def number(self) -> int:
        with self._lock:
            return next(self._numbers)

    def one(
        self,
        session: requests.Session,
        web: str,
        *,
        number: int | None = None,
        key: str | None = None,
        timeout: float = 60.0,
    ) -> Sent:
        """One POST of report `number` (a new one by default) with Idempotency-Key `key` (a new one by default,
        none when this reporter sends none)."""
        number = self.number() if number is None else number
        _, body = report_body(self.run_id, number)
        headers = {"Idempotency-Key": key or str(uuid.uuid4())} if key or self.keys else {}
        started = time.monotonic()
        try:
            response = session.post(f"{web}/api/v1/incidents", json=body, headers=headers, timeout=(3.05, timeout))
        except requests.RequestException as exc:
            return Sent(number, None, time.monotonic() - started, error=type(exc).__name__, answered_at=time.time())
        seconds = time.monotonic() - started
        reference = response.json().get("reference") if response.status_code == 201 else None
        error = "" if response.status_code == 201 else str(response.status_code)
        return Sent(number, response.status_code, seconds, reference, time.time(), error=error)

    def closed(self, web: str, clients: int, *, seconds: float | None = None, count: int | None = None) -> Batch:
        """`clients` clients, each sending its next report as soon as the last is answered, for `seconds` or
        until `count` reports have been sent."""
        sent: list[Sent] = []
        budget = itertools.count() if count is None else iter(range(count))
        lock = threading.Lock()
        deadline = time.monotonic() + seconds if seconds is not None else float("inf")

        def client() -> None:
            session = self.session()
            while time.monotonic() < deadline:
                with lock:
                    if next(budget, None) is None:
                        return
                result = self.one(session, web)
                with lock:
                    sent.append(result)

        started = time.monotonic()
        threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return Batch(sent, time.monotonic() - started, clients)

    def burst(self, web: str, count: int, seconds: float) -> Batch:
        """`count` reports sent at an even rate over `seconds`, each on its own connection whatever the answers
        (open loop); one that is not accepted at once is retried every second with its Idempotency-Key for up
        to 120 s."""
        start = time.monotonic() + 1.0
        sent: list[Sent | None] = [None] * count
        lags: list[float] = [0.0] * count

        def fire(index: int) -> None:
            due = start + index * seconds / count
            time.sleep(max(0.0, due - time.monotonic()))
            lags[index] = time.monotonic() - due
            session = self.session()
            key = str(uuid.uuid4())
            first = self.one(session, web, key=key)
            outcome, deadline = first, time.monotonic() + 120
            while outcome.status != 201 and time.monotonic() < deadline:
                retry_after = 1.0
                time.sleep(retry_after)
                again = self.one(session, web, number=first.number, key=key)
                outcome = Sent(
                    first.number,
                    again.status,
                    outcome.seconds + retry_after + again.seconds,
                    again.reference,
                    again.answered_at,
                    error=first.error,
                    attempts=outcome.attempts + 1,
                )
            first = outcome
            sent[index] = first

        threads = [threading.Thread(target=fire, args=(index,), daemon=True) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done = [one for one in sent if one is not None]
        batch = Batch(done, time.monotonic() - start, count)
        batch.extra = {
            "offered_rps": round(count / seconds, 1),
            "accepted_first_attempt": sum(1 for one in done if one.status == 201 and one.attempts == 1),
            "accepted_after_retry": sum(1 for one in done if one.status == 201 and one.attempts > 1),
            "first_attempt_errors": dict(Counter(one.error for one in done if one.attempts > 1)),
            "send_lag_p95_ms": round(percentile(lags, 0.95) * 1000, 1),
        }
        return batch


def answers(url: str) -> bool:
    try:
        return requests.get(url, headers=PROXY_HEADERS, allow_redirects=False, timeout=2).status_code < 500
    except requests.RequestException:
        return False


# --- the run --------------------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace, stack: Stack) -> None:
        self.args = args
        self.sizes: Sizes = args.sizes
        self.stack = stack
        self.run_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
        # Throughout, except where a phase says otherwise: no Slack pacing (posts as fast as the worker goes,
        # so the worker's CPU is that of posting), a rate limit no benchmark reaches, a token that outlives the run.
        self.app_env = {
            "SLACK_POSTS_PER_SECOND": "0",
            "API_RATE_LIMIT_GOLD": "1000000/m",
            "API_TOKEN_LIFETIME": "86400",
        }
        self.results: dict = {}
        self.tables: list[str] = []
        self.expected_posts = 0
        self.own_backends: set[int] = set()
        self.sandbox_db = self._connect("sandbox")
        self.main_db = self._connect("main")
        self.meter: CpuMeter | None = None
        self._reporter: Reporter | None = None

    @property
    def reporter(self) -> Reporter:
        """The API client's reporter (its token is taken when the application first starts)."""
        if self._reporter is None:
            if not self.stack.token:
                raise RuntimeError("the application has not started yet: no API token")
            self._reporter = Reporter(self.stack.token, self.run_id, idempotency_keys=not self.args.no_idempotency_key)
        return self._reporter

    def _connect(self, database: str) -> psycopg.Connection:
        connection = self.stack.connect(database)
        self.own_backends.add(connection.execute("SELECT pg_backend_pid()").fetchone()[0])
        return connection

    # --- measuring ------------------------------------------------------------------------------------

    def start_meter(self) -> None:
        admin = psycopg.connect(f"{self.stack.postgres}/postgres", autocommit=True)
        self.own_backends.add(admin.execute("SELECT pg_backend_pid()").fetchone()[0])
        lock = threading.Lock()

        def backends(*names: str) -> Callable[[], list[int]]:
            databases = [self.stack.names[name] for name in names]

            def find() -> list[int]:
                with lock:
                    rows = admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", [databases]
                    ).fetchall()
                return [pid for (pid,) in rows if pid not in self.own_backends]

            return find

        self.meter = CpuMeter(
            trees={name: (lambda name=name: self.stack.pid(name)) for name in TREES},
            loose={"database": backends("main", "legacy"), "sandbox_db": backends("sandbox")},
        ).start()

    def cpu_mark(self) -> dict[str, float]:
        assert self.meter is not None
        return {**self.meter.mark(), "bench": own_cpu_seconds(), "_machine": machine_cpu(), "_at": time.monotonic()}

    @staticmethod
    def spent_between(after: dict, before: dict) -> dict[str, float]:
        """CPU seconds of each group between two marks, and the machine's (busy, total) ticks as `_machine`."""
        spent = difference(
            {k: v for k, v in after.items() if not k.startswith("_")},
            {k: v for k, v in before.items() if not k.startswith("_")},
        )
        busy, total = after["_machine"][0] - before["_machine"][0], after["_machine"][1] - before["_machine"][1]
        return {**spent, "_machine_busy": busy, "_machine_total": total}

    @staticmethod
    def cpu_row(spent: dict[str, float], reports: int, web: str = "web") -> dict[str, float | None]:
        """CPU milliseconds per report of each group of processes (`web`: the group that served the reports)."""
        groups = {
            "web": spent[web],
            "worker": spent["worker_servicenow"] + spent["worker_slack"] + spent["beat"],
            "worker_servicenow": spent["worker_servicenow"],
            "worker_slack": spent["worker_slack"],
            "beat": spent["beat"],
            "sandbox": spent["sandbox"],
            "database": spent["database"],
            "sandbox_db": spent["sandbox_db"],
            "bench": spent["bench"],
        }
        result: dict[str, float | None] = {}
        for name, seconds in groups.items():
            value = per_report(seconds * 1000, reports)
            result[f"{name}_ms"] = None if value is None else round(value, 2)
        machine = (spent["_machine_busy"], spent["_machine_total"])
        result["box_busy_cores"] = round(busy_cores(machine, (0, 0)), 2)
        return result

    def cpu_between(self, after: dict, before: dict, reports: int, web: str = "web") -> dict[str, float | None]:
        return self.cpu_row(self.spent_between(after, before), reports, web)

    def slack_posts(self) -> int:
        (count,) = self.sandbox_db.execute("SELECT count(*) FROM sandbox_slack_message WHERE thread_ts = ''").fetchone()
        return count

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every report accepted so far has its Slack message."""
        timeout = timeout if timeout is not None else 120.0
        drained = wait_for(lambda: self.slack_posts() >= self.expected_posts, timeout, poll=0.2)
        if not drained:
            print(f"  ! only {self.slack_posts()} of {self.expected_posts} Slack messages after {timeout:.0f} s")
        return drained

    def send(
        self,
        clients: int,
        *,
        seconds: float | None = None,
        count: int | None = None,
        web: str = "",
        reporter: Reporter | None = None,
    ) -> Batch:
        batch = (reporter or self.reporter).closed(web or self.stack.web, clients, seconds=seconds, count=count)
        if not web or web == self.stack.web:
            self.expected_posts += len(batch.accepted)
        return batch

    def measured(
        self,
        label: str,
        clients: int,
        *,
        seconds: float | None = None,
        count: int | None = None,
        web: str = "",
        web_group: str = "web",
        reporter: Reporter | None = None,
    ) -> dict:
        """A closed loop, then the Slack queue drained: throughput, latency and CPU per report."""
        before = self.cpu_mark()
        batch = self.send(clients, seconds=seconds, count=count, web=web, reporter=reporter)
        self.drain()
        return self._row(label, batch, self.spent_between(self.cpu_mark(), before), web_group)

    def alternated(
        self,
        variants: Sequence[tuple[str, str, str]],
        clients: int,
        seconds: float,
        rounds: int,
        reporter: Reporter | None = None,
    ) -> dict[str, dict]:
        """Several (label, web, CPU group) variants measured in turn, `rounds` times `seconds / rounds` each,
        so that a machine whose other load drifts weighs on each alike; each variant's rounds add up."""
        sent: dict[str, list[Sent]] = {label: [] for label, _, _ in variants}
        elapsed = dict.fromkeys(sent, 0.0)
        spent: dict[str, Counter] = {label: Counter() for label in sent}
        for _ in range(rounds):
            for label, web, _ in variants:
                before = self.cpu_mark()
                batch = self.send(clients, seconds=seconds / rounds, web=web, reporter=reporter)
                self.drain()
                spent[label].update(self.spent_between(self.cpu_mark(), before))
                sent[label] += batch.sent
                elapsed[label] += batch.elapsed
        return {
            label: self._row(label, Batch(sent[label], elapsed[label], clients), dict(spent[label]), group)
            for label, _, group in variants
        }

    def _row(self, label: str, batch: Batch, spent: dict[str, float], web_group: str) -> dict:
        row = {"label": label, **batch.summary(), **self.cpu_row(spent, len(batch.accepted), web_group)}
        errors = f"  errors {row['errors']}" if row["errors"] else ""
        print(
            f"  {label} c={row['clients']}: {row['accepted']} accepted, {row['rps']} reports/s, "
            f"p50 {row['p50_ms']} ms, web {row['web_ms']} ms CPU/report{errors}",
            flush=True,
        )
        return row

    def table(self, text: str) -> None:
        self.tables.append(text)
        print("\n" + text + "\n", flush=True)

    # --- phases ---------------------------------------------------------------------------------------

    def counts(self) -> None:
        """The application restarted behind counting proxies, one per (process, server); counted reports at c=2."""
        sizes = self.sizes
        self.stack.stop_app()
        proxies = CountingProxies()
        postgres = urlsplit(self.stack.urls["main"])
        redis_server = urlsplit(self.stack.cache_url)
        per_process = {}
        for name in ("web", *WORKERS):
            port = {
                server: proxies.add(f"{name}/{server}", protocol, host, int(target_port))
                for server, protocol, host, target_port in (
                    ("main", "postgres", postgres.hostname, postgres.port or 5432),
                    ("legacy", "postgres", postgres.hostname, postgres.port or 5432),
                    ("cache", "redis", redis_server.hostname, redis_server.port or 6379),
                    ("broker", "redis", redis_server.hostname, redis_server.port or 6379),
                )
            }
            per_process[name] = {
                "DATABASE_URL": with_port(self.stack.urls["main"], port["main"], "sslmode=disable"),
                "LEGACY_DATABASE_URL": with_port(self.stack.urls["legacy"], port["legacy"], "sslmode=disable"),
                "REDIS_URL": with_port(self.stack.cache_url, port["cache"]),
                "CELERY_BROKER_URL": with_port(self.stack.broker_url, port["broker"]),
            }
        try:
            # No beat: the sweeper's rounds every 30 s are not a report's.
            self.stack.start_app(beat=False, common=self.app_env, per_process=per_process)
            self.send(2, count=sizes.warmup)
            self.drain()
            time.sleep(1.0)
            idle_seconds = 3.0
            idle_before = proxies.snapshot()
            time.sleep(idle_seconds)
            idle_after = proxies.snapshot()
            before, started = proxies.snapshot(), time.monotonic()
            batch = self.send(2, count=sizes.counted)
            self.drain()
            time.sleep(1.0)
            after, window = proxies.snapshot(), time.monotonic() - started
            errors = dict(proxies.errors)
        finally:
            self.stack.stop_app()
            proxies.close()
        reports = len(batch.accepted)
        per_process_counts: dict[str, dict[str, dict[str, float]]] = {}
        for name in after:
            process, server = name.split("/")
            idle = tally_difference(idle_after[name], idle_before[name])
            counted = tally_difference(after[name], before[name])
            # Idle polling (a worker's BRPOP every second, its heartbeats) is taken out at its idle rate.
            net = {
                key: max(0.0, value - idle.get(key, 0) * window / idle_seconds) / reports
                for key, value in counted.items()
            }
            per_process_counts.setdefault(process, {})[server] = {
                key: round(value, 2) for key, value in sorted(net.items())
            }
            per_process_counts[process][f"{server}_idle_per_s"] = {
                key: round(value / idle_seconds, 2) for key, value in sorted(idle.items())
            }
        self.results["counts"] = {
            "reports": reports,
            "clients": 2,
            "window_seconds": round(window, 1),
            "proxy_errors": errors,
            "per_report": per_process_counts,
            "how": "counted on the wire by TCP proxies between each process and PostgreSQL/Redis (bench/wire.py); "
            "idle traffic (measured for 3 s before) subtracted at its rate; beat not running",
        }

        def value(process: str, server: str, key: str) -> float:
            return per_process_counts.get(process, {}).get(server, {}).get(key, 0.0)

        rows = []
        for process in ("web", *WORKERS):
            rows.append(
                [
                    process,
                    value(process, "main", "statements"),
                    value(process, "main", "commits"),
                    value(process, "main", "transactions"),
                    value(process, "main", "round_trips"),
                    value(process, "legacy", "statements"),
                    value(process, "legacy", "transactions"),
                    value(process, "cache", "commands"),
                    value(process, "cache", "client_bursts"),
                    value(process, "broker", "commands"),
                    value(process, "broker", "client_bursts"),
                ]
            )
        self.table(
            format_table(
                f"Per report, on the wire ({reports} reports over REST v1 at c=2, "
                f"{'no Idempotency-Key' if self.args.no_idempotency_key else 'Idempotency-Key sent'})",
                [
                    "process",
                    "main stmts",
                    "main commits",
                    "main tx",
                    "main RT",
                    "legacy stmts",
                    "legacy tx",
                    "cache cmds",
                    "cache RT",
                    "broker cmds",
                    "broker RT",
                ],
                rows,
                note="stmts: statements sent (Query/Execute); commits: COMMITs and writes autocommitted outside a "
                "block; tx: transactions ended, read-only ones too (as xact_commit counts them); RT: round trips; "
                "Redis RT: bursts the client sends before reading the answer. Beat not running.",
            )
        )
        detail = []
        for process in ("web", *WORKERS):
            for server in ("main", "legacy", "cache", "broker"):
                kinds = {
                    key.split(":", 1)[1]: count
                    for key, count in per_process_counts.get(process, {}).get(server, {}).items()
                    if ":" in key and count >= 0.05
                }
                if kinds:
                    detail.append([f"{process} {server}", ", ".join(f"{k} {v:g}" for k, v in kinds.items())])
        self.table(format_table("Per report, by statement / command", ["process server", "what"], detail))

    def throughput(self) -> None:
        sizes = self.sizes
        self.send(4, count=sizes.warmup)
        self.drain()
        rows = [self.measured("full flow", clients, seconds=sizes.seconds) for clients in sizes.levels]
        self.results["throughput"] = rows
        self.table(
            format_table(
                "REST v1, full flow: throughput, latency and CPU per report (ms of CPU per accepted report)",
                [
                    "c",
                    "reports",
                    "rps",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "errors",
                    *[f"{c} ms" for c in CPU_COLUMNS],
                    "box busy cores",
                ],
                [
                    [
                        row["clients"],
                        row["accepted"],
                        row["rps"],
                        row["p50_ms"],
                        row["p95_ms"],
                        row["p99_ms"],
                        sum(row["errors"].values()),
                        *[row[f"{c}_ms"] for c in CPU_COLUMNS],
                        row["box_busy_cores"],
                    ]
                    for row in rows
                ],
                note="worker = both Celery workers and beat; database = the PostgreSQL backends of Incident Hub's and "
                "the legacy database; sandbox_db = the sandbox's; bench = this script (load and measuring). "
                "Slack unpaced; each level waits until its Slack messages are posted.",
            )
        )

    def p2p(self) -> None:
        """The full flow, the point-to-point view in the site and the bare one, back to back at c=1 and c=4.

        None sends an Idempotency-Key here: the point-to-point views do not keep one, and the layering tax is
        what the layers cost, not what that feature does.
        """
        sizes = self.sizes
        assert self.stack.hub is not None
        self.main_db.execute(TABLE_DDL)
        webs = {}
        for name, settings_module in P2P_VARIANTS.items():
            port = free_port()
            webs[name] = f"http://127.0.0.1:{port}"
            self.stack.hub.start(
                name,
                f"{BIN}/gunicorn bench.p2p.wsgi -c deploy/gunicorn.conf.py",
                PORT=str(port),
                DJANGO_SETTINGS_MODULE=settings_module,
                P2P_QUEUE_URL=self.stack.broker_url,
            )
        no_keys = Reporter(self.stack.token, self.run_id, idempotency_keys=False)
        try:
            for web in webs.values():
                # As the proxy in front would ask: production settings redirect plain HTTP.
                if not wait_for(lambda web=web: answers(f"{web}/api/v1/incidents"), timeout=90, poll=0.3):
                    raise TimeoutError(f"the point-to-point view at {web} did not answer within 90 s")
                self.send(4, count=sizes.warmup, web=web, reporter=no_keys)
            rows = []
            variants = [("full", self.stack.web, "web"), *((name, web, name) for name, web in webs.items())]
            for clients in (1, 4):
                measured = self.alternated(variants, clients, sizes.seconds, sizes.rounds, reporter=no_keys)
                full, site = measured["full"], measured["p2p"]
                rows.append(
                    {
                        "clients": clients,
                        **measured,
                        "web_cpu_ratio": ratio(full["web_ms"], site["web_ms"]),
                        "p50_ratio": ratio(full["p50_ms"], site["p50_ms"]),
                        "rps_ratio": ratio(full["rps"], site["rps"]),
                        "web_cpu_ratio_bare": ratio(full["web_ms"], measured["p2p_bare"]["web_ms"]),
                        "p50_ratio_bare": ratio(full["p50_ms"], measured["p2p_bare"]["p50_ms"]),
                    }
                )
        finally:
            for name in webs:
                self.stack.hub.stop(name)
        self.results["p2p"] = rows
        self.table(
            format_table(
                "Layering tax: the full flow against the same calls made point to point (bench/p2p), "
                "no Idempotency-Key",
                ["c", "view", "web ms", "p50 ms", "p95 ms", "rps", "database ms", "web CPU x full", "p50 x full"],
                [
                    [
                        row["clients"],
                        name,
                        row[name]["web_ms"],
                        row[name]["p50_ms"],
                        row[name]["p95_ms"],
                        row[name]["rps"],
                        row[name]["database_ms"],
                        ratio(row["full"]["web_ms"], row[name]["web_ms"]),
                        ratio(row["full"]["p50_ms"], row[name]["p50_ms"]),
                    ]
                    for row in rows
                    for name in ("full", *P2P_VARIANTS)
                ],
                note=f"Back to back, in {sizes.rounds} turn(s) each. p2p: a plain view in the site (production "
                "settings, middleware, JSON logs, the OAuth toolkit's token check; no call trace); p2p_bare: no "
                "middleware, the token looked up with one query. Both: legacy query || Salesforce query, INSERT, "
                "ServiceNow create, UPDATE, LPUSH to Redis. The layering tax is full against p2p.",
            )
        )

    def vendors(self) -> None:
        sizes = self.sizes
        set_faults(self.stack.sandbox, VENDOR_LATENCY)
        try:
            sustained = self.measured("vendor latency", 32, seconds=sizes.vendor_seconds)
            count, seconds = sizes.burst
            before = self.cpu_mark()
            batch = self.reporter.burst(self.stack.web, count, seconds)
            self.expected_posts += len(batch.accepted)
        finally:
            set_faults(self.stack.sandbox, {})
        self.drain(timeout=300)
        after = self.cpu_mark()
        burst = {**batch.summary(), **self.cpu_between(after, before, len(batch.accepted))}
        self.results["vendors"] = {"latency": VENDOR_LATENCY, "sustained_c32": sustained, "burst": burst}
        self.table(
            format_table(
                "Vendors slow (sandbox: ServiceNow +400 ms, Salesforce +150 ms)",
                ["load", "sent", "accepted", "rps", "p50 ms", "p95 ms", "max ms", "errors", "web ms", "box busy"],
                [
                    [
                        "c=32 closed loop",
                        sustained["sent"],
                        sustained["accepted"],
                        sustained["rps"],
                        sustained["p50_ms"],
                        sustained["p95_ms"],
                        sustained["max_ms"],
                        sum(sustained["errors"].values()),
                        sustained["web_ms"],
                        sustained["box_busy_cores"],
                    ],
                    [
                        f"burst {count} in {seconds:g} s",
                        burst["sent"],
                        burst["accepted"],
                        burst["rps"],
                        burst["p50_ms"],
                        burst["p95_ms"],
                        burst["max_ms"],
                        burst["accepted_after_retry"],
                        burst["web_ms"],
                        burst["box_busy_cores"],
                    ],
                ],
                note=f"Burst: open loop, each report on its own connection; accepted at the first attempt "
                f"{burst['accepted_first_attempt']}, after a retry with its key {burst['accepted_after_retry']} "
                f"(first answers {burst['first_attempt_errors'] or 'none'}); errors column of the burst = retried.",
            )
        )

    def pacing(self) -> None:
        sizes = self.sizes
        self.stack.restart("worker_slack", **{**self.app_env, "SLACK_POSTS_PER_SECOND": "1"})
        try:
            idle = self._commit_to_slack(sizes.idle_reports, sizes.idle_gap)
            burst = self._pacing_burst(sizes.pacing_reports)
        finally:
            self.stack.restart("worker_slack", **self.app_env)
        self.results["pacing"] = {"commit_to_slack_idle": idle, "burst": burst}
        self.table(
            format_table(
                "Slack paced at 1 message/s per channel",
                ["figure", "value"],
                [
                    [
                        f"commit->Slack p50 / p95 ms, idle channel ({idle['reports']} reports "
                        f"{sizes.idle_gap:g} s apart)",
                        f"{idle['p50_ms']} / {idle['p95_ms']}",
                    ],
                    ["201 answer->Slack p50 ms", idle["answer_p50_ms"]],
                    ["burst: reports / messages posted", f"{burst['reports']} / {burst['messages']}"],
                    ["burst: drain rate, messages/s", burst["drain_rate"]],
                    ["burst: Slack task runs per message", burst["task_runs_per_message"]],
                    ["burst: Slack worker CPU while waiting, % of a core", burst["worker_slack_core_percent"]],
                    ["burst: Slack worker CPU per message, ms", burst["worker_slack_ms_per_message"]],
                ],
                note=f"commit->Slack: from the notice's row written in the committing transaction ({idle['source']}) "
                "to the Slack stand-in storing the message (sandbox_slack_message.posted_at); 201 answer->Slack: from "
                f"the client receiving its 201. Task runs: {SLACK_TASK} succeeded/raised/retry lines in the Slack "
                "worker's log. CPU while waiting: from the last report accepted to the last message posted.",
            )
        )

    def _commit_to_slack(self, reports: int, gap: float) -> dict:
        session = self.reporter.session()
        sent = []
        for _ in range(reports):
            one = self.reporter.one(session, self.stack.web)
            if one.status == 201:
                sent.append(one)
                self.expected_posts += 1
            time.sleep(gap)
        self.drain()
        references = [one.reference for one in sent]
        committed, source = self._work_created(references)
        posted = self._posted_at(references)
        delays = [
            (posted[ref] - committed[ref]).total_seconds() for ref in references if ref in posted and ref in committed
        ]
        after_answer = [posted[one.reference].timestamp() - one.answered_at for one in sent if one.reference in posted]
        return {
            "reports": len(sent),
            "source": source,
            **{k: round(v, 1) for k, v in latency_summary(delays).items()},
            "answer_p50_ms": round(percentile(after_answer, 0.5) * 1000, 1),
        }

    def _work_created(self, references: list[str]) -> tuple[dict, str]:
        """When each report's Slack notice was queued: its work row, else its delivery row (schemas change)."""
        queries = [
            (
                "kernel_work.created_at",
                "SELECT subject, created_at FROM kernel_work WHERE kind = 'notification' AND subject = ANY(%s)",
            ),
            (
                "process_apis_notificationdelivery.created_at",
                "SELECT r.reference, d.created_at FROM process_apis_notificationdelivery d "
                "JOIN process_apis_incidentrequest r ON r.id = d.request_id WHERE r.reference = ANY(%s)",
            ),
        ]
        for source, sql in queries:
            try:
                rows = self.main_db.execute(sql, [references]).fetchall()
            except psycopg.Error:
                continue
            if rows:
                return dict(rows), source
        return {}, "n/a: neither kernel_work nor process_apis_notificationdelivery says when"

    def _posted_at(self, references: Iterable[str]) -> dict:
        wanted = set(references)
        posted = {}
        for text, blocks, at in self.sandbox_db.execute(
            "SELECT text, blocks::text, posted_at FROM sandbox_slack_message WHERE thread_ts = ''"
        ):
            for reference in set(REFERENCE.findall(text + blocks)) & wanted:
                posted.setdefault(reference, at)
        return posted

    def _pacing_burst(self, reports: int) -> dict:
        log = self.stack.logs / "worker_slack.log"
        offset = log.stat().st_size
        before = self.cpu_mark()
        batch = self.send(8, count=reports)
        submitted = self.cpu_mark()
        self.drain(timeout=reports * 2.0 + 120)
        time.sleep(1.0)
        after = self.cpu_mark()
        with log.open("rb") as lines:
            lines.seek(offset)
            runs = len(TASK_RUN.findall(lines.read().decode("utf-8", "replace")))
        references = [one.reference for one in batch.accepted]
        posted = sorted(self._posted_at(references).values())
        waiting = after["_at"] - submitted["_at"]
        slack_cpu = after["worker_slack"] - before["worker_slack"]
        waiting_cpu = after["worker_slack"] - submitted["worker_slack"]
        return {
            "reports": len(batch.accepted),
            "messages": len(posted),
            "drain_seconds": round((posted[-1] - posted[0]).total_seconds(), 1) if len(posted) > 1 else None,
            "drain_rate": round((len(posted) - 1) / (posted[-1] - posted[0]).total_seconds(), 2)
            if len(posted) > 1 and posted[-1] > posted[0]
            else None,
            "task_runs": runs,
            "task_runs_per_message": round(runs / len(posted), 2) if posted and runs else None,
            "worker_slack_cpu_seconds": round(slack_cpu, 2),
            "worker_slack_ms_per_message": round(slack_cpu * 1000 / len(posted), 2) if posted else None,
            "waiting_seconds": round(waiting, 1),
            "worker_slack_core_percent": round(100 * waiting_cpu / waiting, 1) if waiting else None,
        }

    def rss(self) -> None:
        if self.args.soak:
            self.send(8, count=self.args.soak)
            self.drain(timeout=max(120.0, float(self.args.soak)))
        groups = {}
        for name in ("web", *WORKERS):
            root = self.stack.pid(name)
            members = tree_members(root) if root else []
            groups[name] = [
                {
                    "pid": member.pid,
                    "role": "main" if member.pid == root else "child",
                    "rss_mb": rss_kib(member.pid) / 1024,
                }
                for member in members
            ]
        reports = self.expected_posts
        self.results["rss"] = {"after_reports": reports, "processes": groups}
        rows = []
        for name, members in groups.items():
            for member in members:
                rows.append([name, member["role"], member["pid"], round(member["rss_mb"], 1)])
        self.table(
            format_table(
                f"Resident memory after {reports} reports (MB)",
                ["process", "role", "pid", "RSS MB"],
                rows,
                note="web children are gunicorn's workers (recycled after max_requests); "
                "worker children are Celery's prefork pool.",
            )
        )

    def trace(self) -> None:
        """c=4 with the call trace on and off, in turns: each turn restarts the application with
        CALL_TRACE_ENABLED set and warms it up first, so neither side runs on fresher processes."""
        sizes = self.sizes
        sent: dict[str, list[Sent]] = {"on": [], "off": []}
        elapsed = dict.fromkeys(sent, 0.0)
        spent: dict[str, Counter] = {label: Counter() for label in sent}
        rows_stored = dict.fromkeys(sent, 0)
        for _ in range(sizes.rounds):
            for label, enabled in (("on", "true"), ("off", "false")):
                self.stack.stop_app()
                self.stack.start_app(common={**self.app_env, "CALL_TRACE_ENABLED": enabled})
                self.send(4, count=sizes.warmup)
                self.drain()
                stored, before = self._traced_calls(), self.cpu_mark()
                batch = self.send(4, seconds=sizes.seconds / sizes.rounds)
                self.drain()
                spent[label].update(self.spent_between(self.cpu_mark(), before))
                rows_stored[label] += self._traced_calls() - stored
                sent[label] += batch.sent
                elapsed[label] += batch.elapsed
        # The phases after this one find the application as it was started for the run.
        self.stack.stop_app()
        self.stack.start_app(common=self.app_env)
        on, off = (
            {
                **self._row(f"call trace {label}", Batch(sent[label], elapsed[label], 4), dict(spent[label]), "web"),
                "trace_rows_per_report": per_report(rows_stored[label], sum(1 for s in sent[label] if s.status == 201)),
            }
            for label in ("on", "off")
        )
        cost = (off["rps"] - on["rps"]) / off["rps"] if off["rps"] else None
        self.results["trace"] = {"on": on, "off": off, "throughput_cost": cost}
        columns = ("rps", "p50_ms", "web_ms", "worker_ms", "database_ms", "box_busy_cores", "trace_rows_per_report")
        self.table(
            format_table(
                f"Call trace on against off (c=4, {sizes.rounds} turn(s) each, each after a restart and a warm-up)",
                ["call trace", "rps", "p50 ms", "web ms", "worker ms", "database ms", "box busy", "rows/report"],
                [["on", *(on[c] for c in columns)], ["off", *(off[c] for c in columns)]],
                note=(f"throughput cost of the call trace: {cost:.1%}. " if cost is not None else "")
                + "rows/report: call trace rows stored per report (process_apis_tracedcall), to show the switch held.",
            )
        )

    def _traced_calls(self) -> int:
        try:
            return self.main_db.execute("SELECT count(*) FROM process_apis_tracedcall").fetchone()[0]
        except psycopg.Error:
            return 0

    # --- the whole run ----------------------------------------------------------------------------------

    def go(self, phases: Sequence[str]) -> None:
        self.start_meter()
        if "counts" in phases:
            print("== counts: statements and round trips per report, on the wire", flush=True)
            self.counts()
        print("== starting web, workers and beat", flush=True)
        self.stack.start_app(common=self.app_env)
        for phase in phases:
            if phase == "counts":
                continue
            print(f"== {phase}", flush=True)
            getattr(self, phase)()

    def targets(self) -> None:
        """Issue 13's targets beside what this run measured."""
        rows = []
        by_clients = {row["clients"]: row for row in self.results.get("throughput", [])}
        c4 = by_clients.get(4)
        counts = self.results.get("counts", {}).get("per_report", {})
        web_counts = counts.get("web", {})
        p2p = {row["clients"]: row for row in self.results.get("p2p", [])}
        vendors = self.results.get("vendors", {})
        pacing = self.results.get("pacing", {})
        rss = self.results.get("rss", {}).get("processes", {})

        def add(target: str, measured: object, met: bool | None) -> None:
            rows.append([target, measured, "n/a" if met is None else ("met" if met else "not met")])

        if c4:
            add("web CPU per REST report <= 20 ms (c=4)", c4["web_ms"], c4["web_ms"] is not None and c4["web_ms"] <= 20)
            slack_ms = c4["worker_slack_ms"]
            add(
                "worker CPU per Slack post <= 6 ms (c=4, Slack worker)",
                slack_ms,
                slack_ms is not None and slack_ms <= 6,
            )
            add("REST v1 rps at c=4 >= 1.5 x django-helpdesk's 46.5 = 69.8", c4["rps"], c4["rps"] >= 69.75)
        if web_counts:
            main = web_counts.get("main", {})
            redis_trips = web_counts.get("cache", {}).get("client_bursts", 0) + web_counts.get("broker", {}).get(
                "client_bursts", 0
            )
            add(
                "main-database statements per REST report <= 8 (web)",
                main.get("statements"),
                main.get("statements", 99) <= 8,
            )
            add(
                "commits per REST report <= 2 (web: COMMITs and autocommitted writes)",
                main.get("commits"),
                main.get("commits", 99) <= 2,
            )
            add("Redis round trips per REST report <= 3 (web: cache + broker)", round(redis_trips, 2), redis_trips <= 3)
        if "trace" in self.results and self.results["trace"]["throughput_cost"] is not None:
            cost = self.results["trace"]["throughput_cost"]
            add("call trace costs <= 10 % of throughput", f"{cost:.1%}", cost <= 0.10)
        for clients, row in p2p.items():
            add(
                f"layering tax, web CPU <= 1.15x (c={clients}, full against p2p in the site)",
                row["web_cpu_ratio"],
                row["web_cpu_ratio"] is not None and row["web_cpu_ratio"] <= 1.15,
            )
            add(
                f"layering tax, latency p50 <= 1.15x (c={clients}, full against p2p in the site)",
                row["p50_ratio"],
                row["p50_ratio"] is not None and row["p50_ratio"] <= 1.15,
            )
        if vendors:
            sustained, burst = vendors["sustained_c32"], vendors["burst"]
            add("vendors slow: >= 25 reports/s at c=32", sustained["rps"], sustained["rps"] >= 25)
            add("vendors slow: p95 < 1500 ms at c=32", sustained["p95_ms"], sustained["p95_ms"] < 1500)
            add("vendors slow: no error at c=32", sum(sustained["errors"].values()), not sustained["errors"])
            add(
                f"burst of {burst['clients']}: all accepted at once",
                f"{burst['accepted_first_attempt']}/{burst['sent']}",
                burst["accepted_first_attempt"] == burst["sent"],
            )
        if pacing:
            burst, idle = pacing["burst"], pacing["commit_to_slack_idle"]
            runs = burst["task_runs_per_message"]
            add("Slack burst: <= 1.2 task runs per message", runs, None if runs is None else runs <= 1.2)
            share = burst["worker_slack_core_percent"]
            add("Slack burst: worker < 10 % of a core while waiting", share, None if share is None else share < 10)
            add(
                "commit->Slack p50 <= 50 ms (idle channel)",
                idle["p50_ms"],
                idle["reports"] > 0 and idle["p50_ms"] <= 50,
            )
        if rss:
            web = max((m["rss_mb"] for m in rss.get("web", []) if m["role"] == "child"), default=None)
            worker = max((m["rss_mb"] for name in WORKERS for m in rss.get(name, [])), default=None)
            after = self.results["rss"]["after_reports"]
            add(
                f"web worker RSS <= 110 MB (after {after} reports; target after 10,000)",
                None if web is None else round(web, 1),
                None if web is None else web <= 110,
            )
            add(
                f"Celery worker RSS <= 130 MB (after {after} reports; target after 10,000)",
                None if worker is None else round(worker, 1),
                None if worker is None else worker <= 130,
            )
        if rows:
            self.table(format_table("Issue 13's targets, as this run measured them", ["target", "measured", ""], rows))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes), for trying it out")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated, in order, of: {', '.join(PHASES)}"
    )
    add_server_arguments(parser)
    parser.add_argument("--soak", type=int, default=None, help="reports sent before reading RSS (default: none)")
    parser.add_argument("--no-idempotency-key", action="store_true", help="send reports without an Idempotency-Key")
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default: var/bench/...)")
    args = parser.parse_args(argv)
    args.sizes = QUICK if args.quick else FULL
    if args.soak is None:
        args.soak = args.sizes.soak
    phases = [phase.strip() for phase in args.phases.split(",") if phase.strip()]
    unknown = sorted(set(phases) - set(PHASES))
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(unknown)}; known: {', '.join(PHASES)}")
    args.phases = phases
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "var" / "bench" / stamp
    json_path = args.json or out_dir / "perf.json"
    meta = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(ROOT),
        "machine": machine(),
        "sizes": asdict(args.sizes),
        "phases": args.phases,
        "web": {name: os.environ.get(name, "gunicorn.conf default") for name in ("WEB_CONCURRENCY", "WEB_THREADS")},
        "idempotency_key": not args.no_idempotency_key,
    }
    busy = meta["machine"]["load_average"][0]
    print(
        f"perf run {stamp} on {meta['machine']['cores']} cores ({meta['machine']['cpu']}), "
        f"load average {busy:.2f} at start; logs and JSON under {out_dir}",
        flush=True,
    )
    machine_before = machine_cpu()
    run = None
    try:
        with Stack(postgres=args.postgres, redis_server=args.redis, logs=out_dir / "logs", settings={}) as stack:
            run = Run(args, stack)
            run.go(args.phases)
            run.targets()
    finally:
        if run is not None:
            meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
            meta["machine_busy_cores_during_run"] = round(busy_cores(machine_cpu(), machine_before), 2)
            meta["load_average_at_end"] = os.getloadavg()
            meta["meter_errors"] = run.meter.errors[:20] if run.meter else []
            write_json(json_path, {"meta": meta, "results": run.results, "tables": run.tables})
            print(
                f"machine: {meta['machine_busy_cores_during_run']} of {meta['machine']['cores']} cores busy on "
                f"average during the run (every process, ours and others'); JSON: {json_path}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
