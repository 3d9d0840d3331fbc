"""Load with faults, then prove that nothing was lost or doubled.

N concurrent clients submit M reports over REST v1 while the sandbox injects faults (ServiceNow 503s
and a create that hangs after it is made, Slack 429s and 503s, a slow and flaky Salesforce) and some
clients give up on their first attempt at once and retry it with the same Idempotency-Key. Then the
faults are cleared and the script waits until the work has settled, and reconciles four views of
every accepted report: the 201 answer, the local record (REST v1 list), the sandbox's ServiceNow
incidents (by correlation_id) and the sandbox's Slack messages. It prints accepted, lost and
duplicated counts and the throughput held, and exits 1 unless lost and duplicated are both 0.

Against a running `make run` (web on :8000, sandbox on :8001):

    .venv/bin/python bench/load.py --clients 8 --reports 200

It makes its own API client with `manage.py create_api_client` (run with the same environment as
`make run`), or takes one with --client-id/--client-secret. Standard library and requests only.
"""

from __future__ import annotations

import argparse
import json
import queue
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = re.compile(r"IH-[0-9A-HJKMNP-TV-Z]{10}")
# Each report's own mark, in its short description and description: `load-<run>-<number>`.
MARKER = re.compile(r"load-\d{14}-[0-9a-f]{6}-\d{5,}")
SYSTEMS = ("servicenow", "salesforce", "slack")
# During submission only; cleared before settling. Chosen so every retry path of the app is walked.
DEFAULT_FAULTS = {
    "servicenow": {"error_rate": 0.2, "error_status": 503, "hang_next": 2, "hang_phase": "after", "hang_seconds": 12},
    "salesforce": {"latency_ms": 150, "error_rate": 0.1, "error_status": 503},
    "slack": {"rate_limit_next": 5, "retry_after": 1, "error_rate": 0.1, "error_status": 503},
}
CUSTOMERS = [
    ("ada.lovelace@example.com", "Ada Lovelace"),
    ("grace.hopper@example.com", "Grace Hopper"),
    ("katherine.johnson@example.com", "Katherine Johnson"),
    ("new.customer@example.com", "New Customer"),
]
CATEGORIES = ["order", "payment", "website", "account", "other"]
RETRYABLE_STATUSES = {409, 429, 500, 502, 503, 504}
# Seconds after which an abandoned first attempt is given up: the request has reached the server by then.
ABANDON_AFTER = 0.05


# --- reconciliation (pure: tested by tests/test_load_script.py) ------------------------------


@dataclass(frozen=True)
class Reconciliation:
    accepted: int
    # reference -> the systems where it is missing / found more than once, e.g. {"IH-...": ["slack"]}
    lost: dict[str, list[str]]
    duplicated: dict[str, list[str]]
    # Stored locally though the client never got a 201 for them (e.g. every answer was lost on the way).
    unconfirmed: list[str] = field(default_factory=list)

    def counts_by_system(self, problems: Mapping[str, list[str]]) -> dict[str, int]:
        return dict(Counter(system for systems in problems.values() for system in systems))


def reconcile(
    *,
    accepted: Mapping[str, str],
    local: Iterable[tuple[str, str]],
    servicenow: Iterable[tuple[str, str]],
    slack: Iterable[str],
    submitted: Iterable[str] = (),
) -> Reconciliation:
    """Check that every accepted report is exactly once in each place.

    accepted: marker -> reference, from the 201 answers.
    local: (reference, marker) of the local records that carry one of this run's markers.
    servicenow: (correlation_id, text) of every ServiceNow incident.
    slack: the text (with blocks) of every top-level Slack message.
    submitted: every marker sent, accepted or not.
    A report is found by its reference, and also by its marker, so that the same report stored twice
    under two references counts as duplicated.
    """
    local_by_marker: Counter[str] = Counter()
    local_references: dict[str, str] = {}
    for reference, marker in local:
        local_by_marker[marker] += 1
        local_references[reference] = marker
    servicenow_by_reference: Counter[str] = Counter()
    servicenow_by_marker: Counter[str] = Counter()
    for correlation_id, text in servicenow:
        servicenow_by_reference[correlation_id] += 1
        servicenow_by_marker.update(set(MARKER.findall(text)))
    slack_by_reference: Counter[str] = Counter()
    slack_by_marker: Counter[str] = Counter()
    for text in slack:
        slack_by_reference.update(set(REFERENCE.findall(text)))
        slack_by_marker.update(set(MARKER.findall(text)))

    lost: dict[str, list[str]] = {}
    duplicated: dict[str, list[str]] = {}
    for marker, reference in accepted.items():
        found = {
            "local": local_references.get(reference) == marker,
            "servicenow": servicenow_by_reference[reference] > 0,
            "slack": slack_by_reference[reference] > 0,
        }
        copies = {
            "local": local_by_marker[marker],
            "servicenow": max(servicenow_by_reference[reference], servicenow_by_marker[marker]),
            "slack": max(slack_by_reference[reference], slack_by_marker[marker]),
        }
        missing = [system for system, present in found.items() if not present]
        doubled = [system for system, count in copies.items() if count > 1]
        if missing:
            lost[reference] = missing
        if doubled:
            duplicated[reference] = doubled
    unconfirmed = sorted(marker for marker in set(submitted) - set(accepted) if local_by_marker[marker])
    return Reconciliation(accepted=len(accepted), lost=lost, duplicated=duplicated, unconfirmed=unconfirmed)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# --- talking to Incident Hub and the sandbox ---------------------------------------------------


def make_api_client(name: str) -> tuple[str, str]:
    """A fresh gold-tier API client, made by the project's own command (same environment as `make run`)."""
    output = subprocess.run(  # noqa: S603 (a fixed command line, no shell)
        [sys.executable, str(ROOT / "manage.py"), "create_api_client", name, "--tier", "gold"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    values = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    return values["client_id"], values["client_secret"]


def get_token(web: str, client_id: str, client_secret: str, headers: Mapping[str, str] | None = None) -> str:
    response = requests.post(
        f"{web}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(client_id, client_secret),
        headers=headers,
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


def set_faults(sandbox: str, faults: Mapping[str, Mapping[str, object]]) -> None:
    for system in SYSTEMS:
        requests.delete(f"{sandbox}/_sandbox/faults/{system}", timeout=10).raise_for_status()
    for system, values in faults.items():
        response = requests.post(f"{sandbox}/_sandbox/faults/{system}", json=dict(values), timeout=10)
        if response.status_code != 200:
            raise SystemExit(f"the sandbox refused the faults for {system}: {response.text}")


def read_with_retries(call: Callable[[], requests.Response], attempts: int = 5) -> requests.Response:
    """A read that survives a busy server (network errors, 429, 5xx) for a few seconds."""
    for attempt in range(1, attempts + 1):
        try:
            response = call()
        except (requests.ConnectionError, requests.Timeout):
            if attempt == attempts:
                raise
        else:
            if (response.status_code < 500 and response.status_code != 429) or attempt == attempts:
                response.raise_for_status()
                return response
        time.sleep(attempt)
    raise AssertionError("unreachable")


def api_session(token: str, headers: Mapping[str, str] | None = None) -> requests.Session:
    """A session as an API client: the bearer token, and any headers a proxy in front would add."""
    session = requests.Session()
    session.headers.update(headers or {})
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def fetch_local(web: str, token: str, run_id: str, headers: Mapping[str, str] | None = None) -> list[dict]:
    """This client's reports of this run (REST v1 list, every page)."""
    session = api_session(token, headers)
    url: str | None = f"{web}/api/v1/incidents?page_size=100"
    found = []
    while url:
        page = read_with_retries(lambda url=url: session.get(url, timeout=30)).json()
        found += [report for report in page["results"] if run_id in report["short_description"]]
        url = page.get("next")
    return found


def fetch_servicenow(sandbox: str, auth: tuple[str, str]) -> list[dict]:
    """Every incident of the sandbox's ServiceNow (Table API, paged by sysparm_offset)."""
    url = f"{sandbox}/servicenow/api/now/table/incident"
    found: list[dict] = []
    while True:
        params = {
            "sysparm_fields": "sys_id,number,correlation_id,short_description",
            "sysparm_limit": "2000",
            "sysparm_offset": str(len(found)),
        }
        page = read_with_retries(lambda params=params: requests.get(url, params=params, auth=auth, timeout=30))
        result = page.json()["result"]
        found += result
        if len(result) < 2000:
            return found


def fetch_slack(sandbox: str) -> list[dict]:
    return read_with_retries(lambda: requests.get(f"{sandbox}/slack/_sandbox/messages", timeout=30)).json()


def slack_texts(messages: Iterable[dict]) -> list[str]:
    # Replies in a thread are follow-ups of a notice, not a second notice.
    return [
        message["text"] + json.dumps(message.get("blocks") or [])
        for message in messages
        if not message.get("thread_ts")
    ]


# --- the load --------------------------------------------------------------------------------


@dataclass
class Outcome:
    marker: str
    reference: str | None = None
    status: int | None = None
    attempts: int = 0
    seconds: float = 0.0
    replayed: bool = False
    error: str = ""
    # What the attempts before the last met: "timeout", "connection", or an HTTP status.
    setbacks: list[str] = field(default_factory=list)


def report_body(run_id: str, number: int) -> tuple[str, dict]:
    marker = f"load-{run_id}-{number:05d}"
    email, name = CUSTOMERS[number % len(CUSTOMERS)]
    return marker, {
        "email": email,
        "name": name,
        "category": CATEGORIES[number % len(CATEGORIES)],
        "urgency": 1 + number % 3,
        "short_description": f"Load test {marker}",
        "description": f"Report {marker} of a load run; nothing to do.",
    }


def submit(
    session: requests.Session,
    webs: Sequence[str],
    marker: str,
    body: dict,
    *,
    give_up_after: float,
    timeout: float,
    abandon_first: bool = False,
    first: int = 0,
) -> Outcome:
    """POST one report; a retry (network failure, 409/429/5xx) sends the same Idempotency-Key and body.

    The first attempt goes to `webs[first]`, each retry to the next web process, as a load balancer
    that skips a failed backend does. `abandon_first` gives up on the first attempt after ABANDON_AFTER
    seconds, as a client on a bad network does: the server goes on with it, and the retry must get
    that report, not a second one.
    """
    outcome = Outcome(marker=marker)
    key = str(uuid.uuid4())
    started = time.monotonic()
    while time.monotonic() - started < give_up_after:
        outcome.attempts += 1
        read_timeout = ABANDON_AFTER if abandon_first and outcome.attempts == 1 else timeout
        web = webs[(first + outcome.attempts - 1) % len(webs)]
        try:
            response = session.post(
                f"{web}/api/v1/incidents", json=body, headers={"Idempotency-Key": key}, timeout=(3.05, read_timeout)
            )
        except (requests.ConnectionError, requests.Timeout) as exc:
            outcome.setbacks.append("timeout" if isinstance(exc, requests.Timeout) else "connection")
            outcome.error = type(exc).__name__
            time.sleep(min(2**outcome.attempts, 10) / 4)
            continue
        outcome.status = response.status_code
        if response.status_code == 201:
            outcome.reference = response.json()["reference"]
            outcome.replayed = response.headers.get("Idempotent-Replayed") == "true"
            outcome.error = ""
            break
        outcome.setbacks.append(str(response.status_code))
        outcome.error = response.text[:200]
        if response.status_code not in RETRYABLE_STATUSES:
            break
        time.sleep(_retry_after(response, default=min(2**outcome.attempts, 10) / 4))
    outcome.seconds = time.monotonic() - started
    return outcome


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        return min(float(response.headers.get("Retry-After", default)), 30.0)
    except ValueError:
        return default


def run_load(args: argparse.Namespace, token: str, run_id: str) -> tuple[list[Outcome], float]:
    work: queue.Queue[int] = queue.Queue()
    for number in range(args.reports):
        work.put(number)
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def client() -> None:
        session = api_session(token, args.headers)
        while True:
            try:
                number = work.get_nowait()
            except queue.Empty:
                return
            marker, body = report_body(run_id, number)
            outcome = submit(
                session,
                args.webs,
                marker,
                body,
                give_up_after=args.give_up_after,
                timeout=args.timeout,
                abandon_first=random.random() < args.abandon,
                first=number,
            )
            with lock:
                outcomes.append(outcome)

    started = time.monotonic()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(1)
        with lock:
            done, accepted = len(outcomes), sum(1 for outcome in outcomes if outcome.reference)
        elapsed = time.monotonic() - started
        print(f"  submitted {done}/{args.reports}  accepted {accepted}  {done / elapsed:.1f} reports/s", flush=True)
    return outcomes, time.monotonic() - started


def observe(args: argparse.Namespace, token: str, run_id: str, accepted: dict[str, str], submitted: list[str]):  # noqa: ANN201
    """One look at all four views, reconciled; and the local records of this run."""
    local = fetch_local(args.web, token, run_id, args.headers)
    servicenow = fetch_servicenow(args.sandbox, (args.servicenow_user, args.servicenow_password))
    slack = fetch_slack(args.sandbox)
    result = reconcile(
        accepted=accepted,
        local=[(report["reference"], report["short_description"].removeprefix("Load test ")) for report in local],
        servicenow=[(incident["correlation_id"], incident["short_description"]) for incident in servicenow],
        slack=slack_texts(slack),
        submitted=submitted,
    )
    return result, local


def settle(args: argparse.Namespace, token: str, run_id: str, accepted: dict[str, str], submitted: list[str]):  # noqa: ANN201
    """Wait until every accepted report is numbered, in ServiceNow and on Slack (or the timeout), then look again.

    The second look, `--grace` seconds later, catches a late duplicate (a retry that creates again).
    A system that cannot be read (e.g. while it is restarted) is asked again until the timeout.
    """
    deadline = time.monotonic() + args.settle
    while True:
        try:
            result, local = observe(args, token, run_id, accepted, submitted)
        except requests.RequestException as exc:
            if time.monotonic() > deadline:
                raise
            print(f"  settling: cannot read the state ({type(exc).__name__}); asking again", flush=True)
            time.sleep(args.poll)
            continue
        unnumbered = sum(1 for report in local if not report["servicenow_number"])
        missing = result.counts_by_system(result.lost)
        print(
            f"  settling: {len(local) - unnumbered}/{len(local)} local records have their ServiceNow number; "
            f"missing: {missing or 'none'}; duplicated: {len(result.duplicated)}",
            flush=True,
        )
        if (not result.lost and not unnumbered) or time.monotonic() > deadline:
            break
        time.sleep(args.poll)
    time.sleep(args.grace)
    return observe(args, token, run_id, accepted, submitted)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--web",
        default="http://127.0.0.1:8000",
        help="Incident Hub's base URL; several, comma-separated, spread the reports over them",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="a header on every request, as a proxy in front would add (e.g. X-Forwarded-Proto:https)",
    )
    parser.add_argument("--sandbox", default="http://127.0.0.1:8001", help="the sandbox's base URL")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--reports", type=int, default=200, help="reports in all")
    parser.add_argument("--settle", type=float, default=300.0, help="seconds to wait for the work to settle")
    parser.add_argument("--poll", type=float, default=3.0, help="seconds between checks while settling")
    parser.add_argument("--grace", type=float, default=10.0, help="seconds to look again once settled")
    parser.add_argument("--timeout", type=float, default=30.0, help="read timeout of one submission")
    parser.add_argument(
        "--give-up-after",
        type=float,
        default=180.0,
        help="seconds of retrying one report (same Idempotency-Key) before counting it as not accepted; longer "
        "than the server holds a key in flight (IDEMPOTENCY_IN_FLIGHT_TIMEOUT_SECONDS, 120 s by default)",
    )
    parser.add_argument(
        "--abandon",
        type=float,
        default=0.1,
        help="fraction of reports whose first attempt the client gives up on at once (then retries with the key)",
    )
    parser.add_argument("--client-id", help="an existing API client (default: make one)")
    parser.add_argument("--client-secret")
    parser.add_argument("--servicenow-user", default="incident.hub", help="the sandbox ServiceNow's user")
    parser.add_argument("--servicenow-password", default="sandbox-servicenow-password")
    parser.add_argument(
        "--faults",
        type=json.loads,
        default=DEFAULT_FAULTS,
        help='JSON {"<system>": {fault settings}} for the submission phase; {} for none',
    )
    args = parser.parse_args(argv)
    if bool(args.client_id) != bool(args.client_secret):
        parser.error("--client-id and --client-secret go together")
    args.webs = [web.strip().rstrip("/") for web in args.web.split(",") if web.strip()]
    args.web, args.sandbox = args.webs[0], args.sandbox.rstrip("/")
    try:
        args.headers = dict((part.strip() for part in header.split(":", 1)) for header in args.header)
    except ValueError:
        parser.error("--header takes NAME:VALUE")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    client_id, secret = (args.client_id, args.client_secret) if args.client_id else make_api_client(f"load-{run_id}")
    token = get_token(args.web, client_id, secret, args.headers)
    print(f"run {run_id}: {args.reports} reports from {args.clients} clients as API client {client_id}")

    print(f"faults on: {json.dumps(args.faults)}")
    set_faults(args.sandbox, args.faults)
    try:
        outcomes, submit_seconds = run_load(args, token, run_id)
    finally:
        set_faults(args.sandbox, {})
        print("faults cleared")

    accepted = {outcome.marker: outcome.reference for outcome in outcomes if outcome.reference}
    result, local = settle(args, token, run_id, accepted, [outcome.marker for outcome in outcomes])

    print_summary(args, outcomes, submit_seconds, result, local)
    return 1 if result.lost or result.duplicated else 0


def print_summary(
    args: argparse.Namespace, outcomes: list[Outcome], submit_seconds: float, result: Reconciliation, local: list[dict]
) -> None:
    latencies = [outcome.seconds for outcome in outcomes if outcome.reference]
    refused = [outcome for outcome in outcomes if not outcome.reference]
    unnumbered = [report["reference"] for report in local if not report["servicenow_number"]]
    lines = [
        "",
        f"submitted     {len(outcomes)} in {submit_seconds:.1f} s by {args.clients} clients",
        f"accepted      {result.accepted}  (after a retry: {sum(1 for o in outcomes if o.attempts > 1)}, "
        f"replayed answers: {sum(o.replayed for o in outcomes)})",
        f"setbacks      {dict(Counter(setback for o in outcomes for setback in o.setbacks)) or 'none'}",
        f"not accepted  {len(refused)}",
        *(f"  {o.marker}: {o.status} {o.error}" for o in refused[:10]),
        f"throughput    {result.accepted / submit_seconds:.2f} reports/s accepted",
        f"latency       p50 {percentile(latencies, 0.5):.2f} s  p95 {percentile(latencies, 0.95):.2f} s  "
        f"max {max(latencies, default=0):.2f} s",
        f"local         {len(local)} records of this run, {len(unnumbered)} without a ServiceNow number",
        *(f"  {reference} has no ServiceNow number" for reference in unnumbered[:10]),
        f"lost          {len(result.lost)}  {result.counts_by_system(result.lost) or ''}",
        *(f"  {ref} missing in {', '.join(systems)}" for ref, systems in list(result.lost.items())[:20]),
        f"duplicated    {len(result.duplicated)}  {result.counts_by_system(result.duplicated) or ''}",
        *(f"  {ref} more than once in {', '.join(systems)}" for ref, systems in list(result.duplicated.items())[:20]),
    ]
    if result.unconfirmed:
        lines.append(f"unconfirmed   {len(result.unconfirmed)} stored though no 201 reached the client")
        lines += [f"  {marker}" for marker in result.unconfirmed[:10]]
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
