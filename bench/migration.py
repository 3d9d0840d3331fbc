"""The legacy customers' migration into Salesforce at growing sizes, in one command: records/s and the worker's peak
memory for each size, a table on stdout, every figure in a JSON file.

    .venv/bin/python bench/migration.py                               # 1,000, 10,000 and 100,000 customers
    .venv/bin/python bench/migration.py --sizes 1000,10000 --chunk 5000
    .venv/bin/python bench/migration.py --poll-seconds 1 --pool prefork --json migration.json

Each size gets a deployment of its own (bench/stack.py, from Procfile.production): fresh PostgreSQL databases on
127.0.0.1:5432 (Incident Hub's, the legacy customers', the sandbox's; dropped at the end), Redis databases 8 and 9
of 127.0.0.1:6379, the sandbox on gunicorn in its own process as Salesforce (Bulk API 2.0), the release step, then
`seed_legacy_customers --count N` (N sample customers after the demo ones) and the Celery worker that consumes the
`celery` queue in Procfile.production. By default it runs with `--pool=solo`: one process runs every chunk, so its
peak memory is that of the whole run and nothing can hide in another pool process; `--pool prefork` starts the
Procfile's line as it is (its main process and pool children are all measured). No web, no beat: the run is
started by a one-off `manage.py shell` (migration_run_start, as the admin's form and the command do) and goes
from chunk to chunk on the worker alone.

Per size: records/s (records read ÷ the run's wall time, from its creation to DONE, as its row records them), the
worker's peak resident memory (VmHWM of each of its processes, from /proc/<pid>/status) and its memory after each
chunk, the CPU seconds of the worker, the sandbox and the PostgreSQL backends, the run's counts (created, updated,
failed, unmigratable) and where the time went (the call trace's rows of the run: the System calls, the wait between
job polls). Figures to read, never pass/fail: they depend on the machine and on what else runs on it (the cores
busy during each run are printed beside them).
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

if __package__ in (None, ""):  # run as a script: `python bench/migration.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.deployment import BIN, ROOT, wait_for_worker
from bench.measure import (
    CpuMeter,
    busy_cores,
    difference,
    format_table,
    git_commit,
    machine,
    machine_cpu,
    peak_rss_kib,
    rss_kib,
    tree_members,
    write_json,
)
from bench.stack import Stack, add_server_arguments
from system_apis.salesforce.client import FIRST_POLL_WAIT

DEFAULT_SIZES = (1000, 10_000, 100_000)
MIGRATION_QUEUE = "celery"
WORKER = "worker"
# The settings that shape a run's speed, as the worker and the sandbox have them (set here or by default).
WORKER_SETTINGS = ("MIGRATION_JOB_POLL_SECONDS", "MIGRATION_JOB_WAIT_SECONDS", "CALL_TRACE_ENABLED")
SANDBOX_SETTINGS = ("SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS", "SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND")
AS_SANDBOX = {"DJANGO_SETTINGS_MODULE": "incidents_site.settings_sandbox", "SANDBOX_SERVICENOW_EVENT_URL": ""}
# Run in a one-off `manage.py shell`: the customers to read, the run started (its work is queued on commit), the
# settings the worker will read. One JSON line on stdout.
START_RUN = """
import json
from django.conf import settings
from process_apis.customer_migration.services import migration_run_start
from system_apis.legacy_db.client import LegacyCustomerDatabase
customers = LegacyCustomerDatabase.from_settings().count_customers()
run = migration_run_start(chunk_size=int({chunk}))
print(json.dumps({{"run": run.pk, "customers": customers, "settings": {{n: getattr(settings, n) for n in {names!r}}}}}))
"""
READ_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({{n: getattr(settings, n) for n in {names!r}}}))
"""
RUN_COLUMNS = (
    "state",
    "read",
    "sent",
    "created",
    "updated",
    "failed",
    "unmigratable",
    "chunks",
    "error",
    "created_at",
    "started_at",
    "finished_at",
)
OVER = ("done", "failed", "stopped")
CHUNK_SPAN = ("process", "customer_migration", "chunk")
SALESFORCE_JOB_POLL = ("system", "salesforce", "get_bulk_job")
SALESFORCE_JOB_CREATE = ("system", "salesforce", "create_bulk_job")
MB = 1024


# --- the worker's command line (pure) -------------------------------------------------------------------


def celery_worker_for(entries: Mapping[str, str], queue: str) -> tuple[str, str]:
    """The Procfile process whose Celery worker consumes `queue` (named in its -Q/--queues list): (name, command)."""
    for name, command in entries.items():
        queues = re.search(r"(?:^|\s)(?:-Q|--queues)[ =](\S+)", command)
        is_worker = re.search(r"(?:^|[\s/])celery\s(?:.*\s)?worker(?:\s|$)", command)
        if is_worker and queues and queue in queues.group(1).split(","):
            return name, command
    raise LookupError(f"no Celery worker of the Procfile consumes the {queue!r} queue")


def with_pool(command: str, pool: str) -> str:
    """A `celery worker` command line with its pool replaced; solo drops the concurrency (one process, one task)."""
    option = re.compile(r"--pool[= ]\S+|(?<=\s)-P[ =]?\S+")
    if not option.search(command):
        return f"{command} --pool={pool}"
    command = option.sub(f"--pool={pool}", command, count=1)
    if pool == "solo":
        command = re.sub(r"\s(?:--concurrency[= ]|-c[ =]?)\S+", "", command)
    return command


def node_name(command: str, host: str) -> str:
    """The worker's node name, as `celery worker --hostname` expands it for `host` (celery@host without one)."""
    named = re.search(r"--hostname[= ](\S+)|(?<=\s)-n[ =]?(\S+)", command)
    template = (named.group(1) or named.group(2)) if named else "celery@%h"
    return template.replace("%h", host).replace("%n", host.split(".")[0]).replace("%d", host.partition(".")[2])


# --- the figures (pure) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallTotal:
    """The call trace's rows of one (layer, api, operation) during a run: how many, and their time together."""

    layer: str
    api: str
    operation: str
    calls: int
    seconds: float

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.layer, self.api, self.operation)


def poll_sleeps(polls: int, jobs: int, poll_seconds: float) -> float:
    """The time slept between the polls of `jobs` jobs asked for `polls` times in all, taken as evenly spread: the
    Salesforce connector waits FIRST_POLL_WAIT after a job's first poll, then twice as long each time up to
    `poll_seconds` (MIGRATION_JOB_POLL_SECONDS), and not after its last."""
    if not jobs:
        return 0.0
    each, more = divmod(polls, jobs)

    def slept(job_polls: int) -> float:
        waits, wait = [], min(FIRST_POLL_WAIT, poll_seconds)
        for _ in range(job_polls - 1):
            waits.append(wait)
            wait = min(wait * 2, poll_seconds)
        return sum(waits)

    return (jobs - more) * slept(each) + more * slept(each + 1)


def where_time_goes(calls: Sequence[CallTotal], *, wall: float, poll_seconds: float) -> dict[str, float | int]:
    """The run's wall time shared out: its chunks' attempts (each a span), and within them the System calls, the
    sleeps between job polls (`poll_sleeps`) and the rest (mapping, recording, reading the results' bodies);
    outside them, the hops from one attempt to the next.
    """
    by_key = {call.key: call for call in calls}
    chunks = by_key.get(CHUNK_SPAN)
    in_chunks = chunks.seconds if chunks else 0.0
    system = [call for call in calls if call.layer == "system"]
    in_system = sum(call.seconds for call in system)
    polls = by_key[SALESFORCE_JOB_POLL].calls if SALESFORCE_JOB_POLL in by_key else 0
    jobs = by_key[SALESFORCE_JOB_CREATE].calls if SALESFORCE_JOB_CREATE in by_key else 0
    sleeping = poll_sleeps(polls, jobs, poll_seconds)
    return {
        "wall_seconds": wall,
        "attempts": chunks.calls if chunks else 0,
        "in_attempts_seconds": in_chunks,
        "system_calls": sum(call.calls for call in system),
        "system_seconds": in_system,
        "jobs": jobs,
        "job_polls": polls,
        "sleeping_between_polls_seconds": sleeping,
        "rest_of_attempts_seconds": in_chunks - in_system - sleeping,
        "between_attempts_seconds": wall - in_chunks,
    }


def share(part: float | None, whole: float | None) -> str:
    """`part` as a percentage of `whole`, for a table ('n/a' without a whole)."""
    if part is None or not whole:
        return "n/a"
    return f"{100 * part / whole:.0f}%"


def records_per_second(records: int, seconds: float | None) -> float | None:
    return records / seconds if seconds else None


# --- one size --------------------------------------------------------------------------------------------


class SizeRun:
    """One size: its own deployment, its legacy table seeded, the worker started, one migration run to its end."""

    def __init__(self, args: argparse.Namespace, size: int, logs: Path) -> None:
        self.args = args
        self.size = size
        self.logs = logs
        self.settings = {
            name: str(value)
            for name, value in (
                ("MIGRATION_JOB_POLL_SECONDS", args.poll_seconds),
                ("SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS", args.bulk_queue_seconds),
                ("SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND", args.bulk_rows_per_second),
            )
            if value is not None
        }

    def go(self) -> dict:
        print(f"== {self.size:,} legacy customers: a fresh deployment (databases, sandbox, release)", flush=True)
        with Stack(
            postgres=self.args.postgres, redis_server=self.args.redis, logs=self.logs, settings=self.settings
        ) as stack:
            assert stack.hub is not None
            seeding = time.monotonic()
            stack.hub.run(f"{BIN}/python manage.py seed_legacy_customers --count {self.size} --seed {self.args.seed}")
            print(f"   seeded in {time.monotonic() - seeding:.1f} s; starting the worker", flush=True)
            name, command = celery_worker_for(stack.processes, MIGRATION_QUEUE)
            command = with_pool(command, "solo") if self.args.pool == "solo" else command
            stack.hub.start(WORKER, command)
            wait_for_worker(stack.control, node_name(command, socket.gethostname()), timeout=120)
            sandbox_settings = self._shell(stack, READ_SETTINGS.format(names=SANDBOX_SETTINGS), **AS_SANDBOX)
            return {
                "size": self.size,
                "worker": {"procfile_process": name, "command": command.replace(f"{BIN}/", ".venv/bin/")},
                "sandbox_settings": sandbox_settings,
                **self._measured_run(stack),
            }

    def _measured_run(self, stack: Stack) -> dict:
        worker_pid = stack.pid(WORKER)
        assert worker_pid is not None
        idle = {pid: rss_kib(pid) for pid in self._task_processes(worker_pid)}
        main = stack.connect("main")
        own = {main.execute("SELECT pg_backend_pid()").fetchone()[0]}
        meter, admin = self._cpu_meter(stack, own)
        machine_before = machine_cpu()
        before = meter.mark()
        started = self._shell(stack, START_RUN.format(chunk=self.args.chunk, names=WORKER_SETTINGS))
        run_id = started["run"]
        print(
            f"   run {run_id}: {started['customers']:,} customers to read, {self.args.chunk:,} a chunk, "
            f"job polled every {started['settings']['MIGRATION_JOB_POLL_SECONDS']} s",
            flush=True,
        )
        run, after_chunks = self._wait(main, run_id, worker_pid)
        spent = difference(meter.mark(), before)
        meter.stop()
        busy = busy_cores(machine_cpu(), machine_before)
        peaks = {pid: peak_rss_kib(pid) for pid in self._task_processes(worker_pid)}
        main_peak = peak_rss_kib(worker_pid)
        sandbox_pid = stack.pid("sandbox")
        sandbox_peak = max((peak_rss_kib(m.pid) for m in tree_members(sandbox_pid)), default=0) if sandbox_pid else 0
        calls = self._call_totals(main, run)
        main.close()
        admin.close()
        wall = (run["finished_at"] - run["created_at"]).total_seconds() if run["finished_at"] else None
        poll_seconds = float(started["settings"]["MIGRATION_JOB_POLL_SECONDS"])
        return {
            "run": {
                key: value.isoformat() if isinstance(value, datetime) else value
                for key, value in run.items()
                if key != "error" or value
            },
            "customers": started["customers"],
            "chunk": self.args.chunk,
            "worker_settings": started["settings"],
            "wall_seconds": wall,
            "records_per_second": records_per_second(run["read"], wall),
            "queued_seconds": (run["started_at"] - run["created_at"]).total_seconds() if run["started_at"] else None,
            "worker_rss_mb": {
                "task_processes": "the main process" if self.args.pool == "solo" else "the pool's children",
                "idle_before_run": {str(pid): kib / MB for pid, kib in idle.items()},
                "peak": {str(pid): kib / MB for pid, kib in peaks.items()},
                "peak_max": max(peaks.values(), default=0) / MB,
                "main_pid": worker_pid,
                "main_peak": main_peak / MB,
                "after_each_chunk": after_chunks,
            },
            "sandbox_peak_rss_mb": sandbox_peak / MB,
            "cpu_seconds": {name: round(value, 2) for name, value in spent.items()},
            "box_busy_cores": round(busy, 2),
            "calls": [asdict(call) for call in calls],
            "time": where_time_goes(calls, wall=wall or 0.0, poll_seconds=poll_seconds),
        }

    def _task_processes(self, worker_pid: int) -> list[int]:
        """The worker's processes that run tasks: itself with the solo pool, its pool's children with prefork (the
        main process only hands tasks out)."""
        if self.args.pool == "solo":
            return [worker_pid]
        return [member.pid for member in tree_members(worker_pid) if member.pid != worker_pid]

    def _shell(self, stack: Stack, code: str, **environment: str) -> dict:
        """A one-off `manage.py shell -c` of the deployment; the JSON line it prints."""
        assert stack.hub is not None
        output = stack.hub.run(
            f'{BIN}/python manage.py shell -c "$BENCH_SHELL_CODE"', BENCH_SHELL_CODE=code, **environment
        )
        line = next((line for line in reversed(output.splitlines()) if line.startswith("{")), None)
        if line is None:
            raise RuntimeError(f"the shell printed no JSON:\n{output}")
        return json.loads(line)

    def _cpu_meter(self, stack: Stack, own: set[int]) -> tuple[CpuMeter, psycopg.Connection]:
        """CPU of the worker, the sandbox, and the PostgreSQL backends of the run's databases (the legacy one with
        Incident Hub's as "database", the sandbox's as "sandbox_db"), the benchmark's own connections left out."""
        admin = psycopg.connect(f"{stack.postgres}/postgres", autocommit=True)
        own.add(admin.execute("SELECT pg_backend_pid()").fetchone()[0])
        lock = threading.Lock()

        def backends(*databases: str) -> Callable[[], list[int]]:
            names = [stack.names[database] for database in databases]

            def find() -> list[int]:
                with lock:
                    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)", [names]).fetchall()
                return [pid for (pid,) in rows if pid not in own]

            return find

        meter = CpuMeter(
            trees={WORKER: lambda: stack.pid(WORKER), "sandbox": lambda: stack.pid("sandbox")},
            loose={"database": backends("main", "legacy"), "sandbox_db": backends("sandbox")},
        ).start()
        return meter, admin

    def _wait(self, main: psycopg.Connection, run_id: int, worker_pid: int) -> tuple[dict, list[dict]]:
        """The run's row once it is over; the worker's memory each time a chunk was recorded."""
        timeout = self.args.timeout or 600 + self.size / 20
        deadline = time.monotonic() + timeout
        after_chunks: list[dict] = []
        seen_chunks = 0
        query = f"SELECT {', '.join(RUN_COLUMNS)} FROM process_apis_migrationrun WHERE id = %s"  # noqa: S608
        while True:
            run = dict(zip(RUN_COLUMNS, main.execute(query, [run_id]).fetchone(), strict=True))
            if run["chunks"] != seen_chunks:
                seen_chunks = run["chunks"]
                pids = self._task_processes(worker_pid)
                after_chunks.append(
                    {
                        "chunks": run["chunks"],
                        "read": run["read"],
                        "rss_mb": round(max((rss_kib(pid) for pid in pids), default=0) / MB, 1),
                        "peak_mb": round(max((peak_rss_kib(pid) for pid in pids), default=0) / MB, 1),
                    }
                )
                print(
                    f"   chunk {run['chunks']}: {run['read']:,} read, worker {after_chunks[-1]['rss_mb']} MB",
                    flush=True,
                )
            if run["state"] in OVER:
                return run, after_chunks
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} not over within {timeout:.0f} s: {run}")
            time.sleep(0.25)

    def _call_totals(self, main: psycopg.Connection, run: dict) -> list[CallTotal]:
        """The call trace's rows since the run was created, by call; waited for until every attempt's span is
        written (the worker writes a flow's rows once its task ends)."""
        attempts = run["chunks"] + 1  # the last attempt finds no customer left
        query = (
            "SELECT layer, api, operation, count(*), coalesce(sum(duration_ms), 0) / 1000.0"
            " FROM process_apis_tracedcall WHERE started_at >= %s GROUP BY layer, api, operation"
            " ORDER BY layer, api, operation"
        )
        deadline = time.monotonic() + 30
        while True:
            calls = [CallTotal(*row[:4], float(row[4])) for row in main.execute(query, [run["created_at"]]).fetchall()]
            written = next((call.calls for call in calls if call.key == CHUNK_SPAN), 0)
            if written >= attempts or time.monotonic() > deadline:
                return calls
            time.sleep(0.5)


# --- the whole run ---------------------------------------------------------------------------------------


def tables(results: Sequence[dict]) -> list[str]:
    done = [result for result in results if "run" in result]
    figures = format_table(
        "Migration of legacy customers into the sandbox's Salesforce",
        [
            "customers",
            "read",
            "records/s",
            "wall s",
            "worker peak MB",
            "idle MB",
            "worker CPU s",
            "sandbox CPU s",
            "database CPU s",
            "sandbox db CPU s",
            "box busy",
        ],
        [
            [
                result["size"],
                result["run"]["read"],
                result["records_per_second"],
                result["wall_seconds"],
                result["worker_rss_mb"]["peak_max"],
                max(result["worker_rss_mb"]["idle_before_run"].values(), default=None),
                result["cpu_seconds"][WORKER],
                result["cpu_seconds"]["sandbox"],
                result["cpu_seconds"]["database"],
                result["cpu_seconds"]["sandbox_db"],
                result["box_busy_cores"],
            ]
            for result in done
        ],
        note="read: the sample customers and the demo ones; records/s: read ÷ wall (the run's row, from its "
        "creation to DONE); worker peak: the highest VmHWM of the worker's processes that run tasks (solo: the worker "
        "itself; prefork: its pool's children); idle: their RSS before the run.",
    )
    counts = format_table(
        "What each run did",
        ["customers", "state", "chunks", "read", "sent", "created", "updated", "failed", "unmigratable"],
        [
            [result["size"], *(result["run"][key] for key in ("state", "chunks", "read", "sent", "created", "updated"))]
            + [result["run"]["failed"], result["run"]["unmigratable"]]
            for result in done
        ],
        note="failed: rows Salesforce rejected; unmigratable: customers the mapping refused (the samples are partly "
        "dirty on purpose).",
    )
    time_rows = []
    for result in done:
        split = result["time"]
        wall = split["wall_seconds"]
        time_rows.append(
            [
                result["size"],
                wall,
                split["attempts"],
                f"{split['job_polls']} / {split['jobs']}",
                *(
                    f"{split[part]:.1f} ({share(split[part], wall)})"
                    for part in (
                        "sleeping_between_polls_seconds",
                        "system_seconds",
                        "rest_of_attempts_seconds",
                        "between_attempts_seconds",
                    )
                ),
            ]
        )
    where = format_table(
        "Where the wall time went (the call trace's rows of the run)",
        ["customers", "wall s", "attempts", "polls / jobs", "sleep s", "system calls s", "rest s", "between s"],
        time_rows,
        note="sleep: between a job's polls (0.5 s after the first, then twice as long each time up to "
        "MIGRATION_JOB_POLL_SECONDS, the polls taken as evenly spread over the jobs); system calls: every traced "
        "legacy-database and Salesforce call (a poll's answer includes the sandbox working the job through); rest: "
        "the attempts' other time (mapping, recording, reading result bodies); between: from one attempt to the next.",
    )
    calls_rows = [
        [result["size"], f"{call['api']}.{call['operation']}", call["calls"], round(call["seconds"] * 1000)]
        for result in done
        for call in result["calls"]
        if call["layer"] == "system"
    ]
    calls = format_table("System calls of each run", ["customers", "call", "calls", "ms"], calls_rows)
    return [figures, counts, where, calls]


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes are positive counts of customers, not {text!r}")
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(DEFAULT_SIZES),
        help="sample customers per run, comma-separated (default 1000,10000,100000)",
    )
    parser.add_argument("--chunk", type=int, default=10_000, help="customers per chunk (one Bulk job); default 10000")
    parser.add_argument("--seed", type=int, default=1, help="which sample customers (seed_legacy_customers --seed)")
    parser.add_argument(
        "--pool",
        choices=("solo", "prefork"),
        default="solo",
        help="the worker's pool: solo (default; one process runs every chunk) or prefork as Procfile.production has it",
    )
    parser.add_argument(
        "--poll-seconds", type=float, default=None, help="MIGRATION_JOB_POLL_SECONDS (default: the setting's default)"
    )
    parser.add_argument(
        "--bulk-queue-seconds",
        type=float,
        default=None,
        help="SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS: how long a closed job is queued (default: the setting's)",
    )
    parser.add_argument(
        "--bulk-rows-per-second",
        type=float,
        default=None,
        help="SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND: how fast a job's rows are gone through (default: the setting's)",
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds a run may take (default 600 + size/20)")
    add_server_arguments(parser)
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default: var/bench/...)")
    args = parser.parse_args(argv)
    if args.chunk < 1:
        parser.error("--chunk needs at least one customer")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "var" / "bench" / f"migration-{stamp}"
    json_path = args.json or out_dir / "migration.json"
    box = machine()
    meta = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_commit(ROOT),
        "machine": box,
        "sizes": args.sizes,
        "chunk": args.chunk,
        "pool": args.pool,
        "seed": args.seed,
    }
    print(
        f"migration benchmark {stamp}: nproc {box['nproc']}, {box['cpu']}, {box['memory_gb']} GB RAM, load average "
        f"{box['load_average'][0]:.2f}; sizes {', '.join(f'{size:,}' for size in args.sizes)}, chunk {args.chunk:,}, "
        f"worker pool {args.pool}; logs and JSON under {out_dir}",
        flush=True,
    )
    results: list[dict] = []
    try:
        for size in args.sizes:
            try:
                results.append(SizeRun(args, size, out_dir / f"customers-{size}" / "logs").go())
            except (TimeoutError, RuntimeError, AssertionError) as exc:
                print(f"   {size:,} customers: {type(exc).__name__}: {exc}", flush=True)
                results.append({"size": size, "error": f"{type(exc).__name__}: {exc}"})
            write_json(json_path, {"meta": meta, "results": results})
    finally:
        meta["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
        printed = tables(results)
        settings_line = settings_used(results)
        for table in printed:
            print(f"\n{table}")
        if settings_line:
            print(f"\n{settings_line}")
        for result in results:
            if "error" in result:
                print(f"{result['size']:,} customers: no figures, {result['error']}")
        write_json(json_path, {"meta": meta, "results": results, "tables": printed})
        print(f"\nJSON: {json_path}")
    return 0 if all("error" not in result for result in results) else 1


def settings_used(results: Sequence[dict]) -> str:
    """The settings the runs had, once (they are the same for every size)."""
    done = [result for result in results if "run" in result]
    if not done:
        return ""
    values = {**done[0]["worker_settings"], **done[0]["sandbox_settings"]}
    return (
        "settings: "
        + ", ".join(f"{name}={value}" for name, value in values.items())
        + (f"; worker: {done[0]['worker']['command']}")
    )


if __name__ == "__main__":
    sys.exit(main())
