"""The Slack worker's CPU per Slack post, in one command: a table on stdout, the figures in a JSON file.

    .venv/bin/python bench/slack_worker.py                        # 3 rounds of 500 notices at 30 a second
    .venv/bin/python bench/slack_worker.py --notices 200 --rounds 1 --rate 0   # 200 at once, one round

Starts what the Slack worker needs from Procfile.production (bench/stack.py): PostgreSQL databases of its own,
two Redis databases (4 and 5 by default, so that it does not wait for bench/perf.py's 8 and 9), the sandbox as
Slack (unpaced: SLACK_POSTS_PER_SECOND=0), the release step, then `worker_slack` alone, as production starts it.
A sender process in the deployment's environment stores the reports' new-incident notices (as the report's
ServiceNow step leaves them: the incident created, the notice's work pending) and hands each to Celery as the web
process does after its commit (`work_enqueue`, inside the report's span and correlation id), at `--rate` a second.

Per round: the worker's CPU (utime + stime from /proc, its prefork children's included, main process and pool
apart) from the first notice handed over to the last message stored by the Slack stand-in, divided by the messages
posted; the same less the worker's idle CPU (measured before, for as long) at its rate; the machine's busy cores
meanwhile (other runs weigh on every figure). Then every notice is checked: posted once, its work done at the
first attempt.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess  # noqa: S404
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

if __package__ in (None, ""):  # run as a script: `python bench/slack_worker.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.deployment import BIN, ROOT
from bench.measure import busy_cores, format_table, machine_cpu, read_stat, tree_members, wait_for, write_json
from bench.stack import Stack, add_server_arguments

WORKER = "worker_slack"
APP_ENV = {"SLACK_POSTS_PER_SECOND": "0"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the sender: runs in the deployment's environment, as `python bench/slack_worker.py --sender N` --------------


def store_notices(count: int) -> list:
    """`count` reports' new-incident notices, stored as a report leaves them once its ServiceNow incident is
    recorded, not yet handed to Celery; their works (Django set up)."""
    from unittest import mock

    from django.db import transaction
    from django.utils import timezone

    from kernel.models import Work
    from kernel.work import work_create_for
    from process_apis.customer_incidents.references import new_reference
    from process_apis.customer_incidents.services import SERVICENOW_SYNC
    from process_apis.customers.types import LEGACY_DB, SALESFORCE, Customer
    from process_apis.models import Category, Impact, IncidentRequest, Urgency
    from process_apis.notifications.services import notification_queue

    categories = list(Category)
    works: list[Work] = []
    with mock.patch("kernel.work.work_enqueue"):
        for number in range(count):
            reference, trace_id = new_reference(), uuid.uuid4().hex
            customer = Customer(
                email=f"customer{number % 50}@example.com",
                first_name="Katherine",
                last_name=f"Johnson {number % 50}",
                phone="+1 555 0100",
                account_name="Acme Retail",
                legacy_customer_number=f"C{number % 50:06d}",
                legacy_account_status="ACTIVE",
                customer_since="2019-03-01",
                salesforce_contact_id="003000000000001AAA",
                salesforce_account_id="001000000000001AAA",
                found_in=(LEGACY_DB, SALESFORCE),
            )
            with transaction.atomic():
                request = IncidentRequest(
                    reference=reference,
                    trace_id=trace_id,
                    consumer="rest_v1",
                    consumer_label="REST API",
                    contact_type="self-service",
                    api_client_id="bench",
                    email=customer.email,
                    name=customer.display_name,
                    order_number=f"SO-{100000 + number}",
                    category=categories[number % len(categories)],
                    urgency=Urgency.MEDIUM,
                    impact=Impact.LOW,
                    short_description=f"Order {100000 + number} never arrived",
                    description="The parcel tracking says delivered, but nothing came. Please look into it & call.",
                    customer=customer.as_dict(),
                    sync_state=IncidentRequest.SyncState.CREATED,
                    servicenow_sys_id=uuid.uuid4().hex,
                    servicenow_number=f"INC{10000 + number:07d}",
                    servicenow_state=1,
                    servicenow_state_label="New",
                    servicenow_priority=4,
                    servicenow_url=f"https://servicenow.example.com/nav_to.do?uri=incident.do?sys_id={number}",
                    servicenow_updated_at=timezone.now(),
                )
                sync = work_create_for(
                    request, "sync_work", kind=SERVICENOW_SYNC, subject=reference, trace_id=trace_id, claimed=True
                )
                works.append(notification_queue(request=request).work)
            Work.objects.filter(pk=sync.pk).update(state=Work.State.DONE, claimed_at=None)
    return works


def sender(count: int) -> None:
    """Store `count` notices, then hand them to Celery on request: reads `send N RATE` lines from stdin, answers
    `sent N` once the next N are published (RATE a second, 0: at once); `ready` once they are stored."""
    import django

    django.setup()
    from kernel.tracing import correlation, traced
    from kernel.work import work_enqueue

    queued = iter(store_notices(count))
    print("ready", flush=True)
    for line in sys.stdin:
        _, how_many, rate = line.split()
        started = time.monotonic()
        for index in range(int(how_many)):
            if float(rate) > 0:
                time.sleep(max(0.0, started + index / float(rate) - time.monotonic()))
            work = next(queued)
            # As the web process hands a report's notice over after its commit: inside the report's span.
            with traced("experience", "rest_v1", "report"), correlation(work.trace_id):
                work_enqueue(work)
        print(f"sent {how_many}", flush=True)


# --- the measuring side ---------------------------------------------------------------------------------------


class Sender:
    def __init__(self, stack: Stack, count: int) -> None:
        assert stack.hub is not None
        log = (stack.logs / "sender.log").open("a")
        self.process = subprocess.Popen(  # noqa: S603
            [str(BIN / "python"), str(Path(__file__).resolve()), "--sender", str(count)],
            cwd=ROOT,
            env={**stack.hub.environment, **APP_ENV},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self._expect("ready")

    def send(self, count: int, rate: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"send {count} {rate}\n")
        self.process.stdin.flush()
        self._expect(f"sent {count}")

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=30)

    def _expect(self, line: str) -> None:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        got = stdout.readline().strip()
        if got != line:
            raise RuntimeError(f"the sender said {got!r}, not {line!r} (see sender.log)")


def worker_ticks(root: int) -> dict[str, int]:
    """CPU ticks of the worker's main process and of its pool (live children and those it has reaped), and of
    the whole worker in user and in kernel mode."""
    members = tree_members(root)
    main = read_stat(root)
    if main is None:
        raise RuntimeError("the Slack worker is gone")
    children = [member for member in members if member.pid != root]
    pool_user = sum(child.user + child.children_user for child in children) + main.children_user
    pool_system = sum(child.system + child.children_system for child in children) + main.children_system
    return {
        "main": main.own_ticks,
        "pool": pool_user + pool_system,
        "user": main.user + pool_user,
        "system": main.system + pool_system,
    }


def spent(after: dict[str, int], before: dict[str, int]) -> dict[str, float]:
    return {name: (after[name] - before[name]) / CLOCK_TICKS for name in after}


class Bench:
    def __init__(self, stack: Stack, args: argparse.Namespace) -> None:
        self.stack = stack
        self.args = args
        self.sandbox_db = stack.connect("sandbox")
        self.main_db = stack.connect("main")
        self.expected = 0

    def posted(self) -> int:
        (count,) = self.sandbox_db.execute("SELECT count(*) FROM sandbox_slack_message WHERE thread_ts = ''").fetchone()
        return count

    def drain(self, timeout: float) -> float:
        """Wait until every notice handed over so far is posted; when the last one was stored (monotonic)."""
        if not wait_for(lambda: self.posted() >= self.expected, timeout, poll=0.05):
            raise RuntimeError(f"only {self.posted()} of {self.expected} Slack messages after {timeout:.0f} s")
        return time.monotonic()

    def root(self) -> int:
        pid = self.stack.pid(WORKER)
        if pid is None:
            raise RuntimeError("the Slack worker is not running")
        return pid

    def run(self) -> dict:
        args = self.args
        self.stack.start_app(only=(WORKER,), common=APP_ENV)
        sender = Sender(self.stack, args.warmup + args.rounds * args.notices)
        try:
            print(f"== warm-up: {args.warmup} notices", flush=True)
            sender.send(args.warmup, args.rate)
            self.expected += args.warmup
            self.drain(120)
            time.sleep(1.0)
            rounds = [self.round(sender, number) for number in range(1, args.rounds + 1)]
        finally:
            sender.close()
        return {"rounds": rounds, "checks": self.checks()}

    def round(self, sender: Sender, number: int) -> dict:
        args, root = self.args, self.root()
        # The worker's idle CPU (its heartbeats, the broker poll), over as long as a round takes, up to 10 s.
        idle_seconds = min(10.0, max(3.0, args.notices / args.rate if args.rate else 3.0))
        idle_before, idle_started = worker_ticks(root), time.monotonic()
        time.sleep(idle_seconds)
        idle = spent(worker_ticks(root), idle_before)
        idle_rate = (idle["main"] + idle["pool"]) / (time.monotonic() - idle_started)
        print(f"  round {number}: {args.notices} notices", flush=True)
        before, machine_before, started = worker_ticks(root), machine_cpu(), time.monotonic()
        sender.send(args.notices, args.rate)
        self.expected += args.notices
        finished = self.drain(120 + args.notices)
        used, machine_after = spent(worker_ticks(root), before), machine_cpu()
        seconds = finished - started
        total = used["main"] + used["pool"]
        row = {
            "round": number,
            "posts": args.notices,
            "seconds": round(seconds, 2),
            "posts_per_s": round(args.notices / seconds, 1),
            "cpu_ms_per_post": round(total * 1000 / args.notices, 2),
            "main_ms_per_post": round(used["main"] * 1000 / args.notices, 2),
            "pool_ms_per_post": round(used["pool"] * 1000 / args.notices, 2),
            "kernel_share": round(used["system"] / total, 2) if total else None,
            "idle_ms_per_s": round(idle_rate * 1000, 2),
            "cpu_ms_per_post_less_idle": round(max(0.0, total - idle_rate * seconds) * 1000 / args.notices, 2),
            "box_busy_cores": round(busy_cores(machine_after, machine_before), 2),
        }
        print(
            f"  round {number}: {row['cpu_ms_per_post']} ms CPU per post (main {row['main_ms_per_post']}, pool "
            f"{row['pool_ms_per_post']}), {row['posts_per_s']} posts/s, {row['box_busy_cores']} cores busy",
            flush=True,
        )
        return row

    def checks(self) -> dict:
        """Every notice posted once, its work done at the first attempt."""
        (messages, references) = self.sandbox_db.execute(
            "SELECT count(*), count(DISTINCT substring(blocks::text from 'IH-[0-9A-Z]{10}')) "
            "FROM sandbox_slack_message WHERE thread_ts = ''"
        ).fetchone()
        states = dict(
            self.main_db.execute(
                "SELECT state || ' attempt ' || attempts, count(*) FROM kernel_work WHERE kind = 'notification' "
                "GROUP BY 1"
            ).fetchall()
        )
        return {
            "notices": self.expected,
            "messages": messages,
            "distinct_references": references,
            "works": states,
            "ok": messages == references == self.expected and states == {"done attempt 1": self.expected},
        }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--notices", type=int, default=500, help="notices posted in each measured round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (the median is the figure)")
    parser.add_argument("--warmup", type=int, default=40, help="notices posted before measuring")
    parser.add_argument("--rate", type=float, default=30.0, help="notices handed to Celery a second (0: at once)")
    add_server_arguments(parser, redis_help="Redis server")
    parser.add_argument(
        "--redis-databases",
        default="4,5",
        help="the Redis databases used as cache and broker, emptied before and after (default: 4,5)",
    )
    parser.add_argument("--json", type=Path, default=None, help="where to write the JSON (default: var/bench/...)")
    parser.add_argument("--sender", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sender is not None:
        sender(args.sender)
        return 0
    cache_db, broker_db = (int(number) for number in args.redis_databases.split(","))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "var" / "bench" / f"slack-worker-{stamp}"
    json_path = args.json or out_dir / "slack_worker.json"
    print(
        f"Slack worker bench {stamp}: {args.rounds} round(s) of {args.notices} notices at "
        f"{args.rate:g}/s (0: at once); load average {os.getloadavg()[0]:.2f}; logs under {out_dir}",
        flush=True,
    )
    machine_before = machine_cpu()
    with Stack(
        postgres=args.postgres,
        redis_server=args.redis,
        logs=out_dir / "logs",
        settings={},
        redis_databases=(cache_db, broker_db),
    ) as stack:
        results = Bench(stack, args).run()
    rounds = results["rounds"]
    median = {
        key: round(statistics.median(row[key] for row in rounds), 2)
        for key in ("cpu_ms_per_post", "main_ms_per_post", "pool_ms_per_post", "cpu_ms_per_post_less_idle")
    }
    table = format_table(
        f"Slack worker CPU per post (Procfile.production's worker_slack, Slack unpaced, notices at {args.rate:g}/s)",
        ["round", "posts", "posts/s", "CPU ms/post", "main", "pool", "kernel", "less idle", "idle ms/s", "box busy"],
        [
            [
                row["round"],
                row["posts"],
                row["posts_per_s"],
                row["cpu_ms_per_post"],
                row["main_ms_per_post"],
                row["pool_ms_per_post"],
                row["kernel_share"],
                row["cpu_ms_per_post_less_idle"],
                row["idle_ms_per_s"],
                row["box_busy_cores"],
            ]
            for row in rounds
        ]
        + [
            [
                "median",
                "",
                "",
                median["cpu_ms_per_post"],
                median["main_ms_per_post"],
                median["pool_ms_per_post"],
                "",
                median["cpu_ms_per_post_less_idle"],
                "",
                "",
            ]
        ],
        note="CPU: utime+stime of the worker's main process (consumer, acks) and of its prefork pool (the "
        "tasks), from the first notice handed over to the last message stored; kernel: stime's share of it; less "
        "idle: without the worker's idle CPU at the rate measured just before. Box busy: the machine's cores busy "
        "meanwhile, every process's.",
    )
    checks = results["checks"]
    print("\n" + table + "\n")
    print(
        f"checks: {checks['messages']} messages for {checks['notices']} notices, {checks['distinct_references']} "
        f"distinct references, works {checks['works']}: {'ok' if checks['ok'] else 'NOT OK'}"
    )
    busy = round(busy_cores(machine_cpu(), machine_before), 2)
    write_json(
        json_path,
        {
            "meta": {
                "started": stamp,
                "args": {key: value for key, value in vars(args).items() if key not in ("json", "sender")},
                "cores": os.cpu_count(),
                "machine_busy_cores_during_run": busy,
            },
            "rounds": rounds,
            "median": median,
            "checks": checks,
            "table": table,
        },
    )
    print(f"machine: {busy} of {os.cpu_count()} cores busy on average during the run; JSON: {json_path}")
    return 0 if checks["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
