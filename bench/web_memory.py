"""Memory of the web process as production runs it, after REST reports and the other pages, in one command.

    .venv/bin/python bench/web_memory.py                       # 300 REST reports, then 5 rounds of the other pages
    .venv/bin/python bench/web_memory.py --reports 1000 --imports

It starts a deployment of its own (bench/stack.py: PostgreSQL databases of the run, Redis databases 8 and 9, the
sandbox as the vendors, the release step), then Procfile.production's web (gunicorn with deploy/gunicorn.conf.py
and production settings) and its ServiceNow and Slack workers, no beat. It sends the reports over REST v1 from 8
clients, then in rounds: the report form (read and sent), the status page, the REST reads, the admin (logged in),
the API docs and schemas, the catalog, and the Slack command (signed as Slack signs it). It prints the memory of
every process (RSS, PSS, USS) after each step. `--imports` also loads the WSGI application and its URLconf once, in
a process of its own with the same environment, and prints what that costs and which top-level packages it imports.

The processes run on the interpreter that runs this script. The development .venv also holds the test tools, and
some libraries import what they find: DRF imports pygments and Celery greenlet (about 2 MB together), which a
production install (requirements.txt) does not have.

Only one benchmark runs at a time (Redis databases 8 and 9 are the run's): it waits for /tmp/incident-hub-bench.lock.
Gunicorn recycles a worker after max_requests (2000 + up to 200): a run of more requests than that reads the
memory of a fresher worker.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import signal
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import requests

if __package__ in (None, ""):  # run as a script: `python bench/web_memory.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.deployment import BIN, ROOT
from bench.load import REFERENCE, report_body
from bench.measure import format_table, memory_kib, tree_members
from bench.perf import Reporter
from bench.stack import LOCK_PATH, PROXY_HEADERS, WORKERS, Stack, add_server_arguments

SLACK_TEAM = "T0BENCHRSS"
STAFF = "bench-staff"
HIDDEN_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
CHANGE_LINK = re.compile(r'href="(/admin/process_apis/incidentrequest/\d+/change/)"')
# The application's environment, as bench/perf.py runs it: the client's rate limit out of reach, a token that
# outlives the run, Slack unpaced.
APP_ENV = {"SLACK_POSTS_PER_SECOND": "0", "API_RATE_LIMIT_GOLD": "1000000/m", "API_TOKEN_LIFETIME": "86400"}


def memory_rows(stack: Stack, step: str) -> list[list]:
    rows = []
    for name in ("web", *WORKERS):
        root = stack.pid(name)
        for member in tree_members(root) if root else []:
            role = "main" if member.pid == root else ("worker" if name == "web" else "pool")
            rows.append([step, name, role, member.pid, *(round(kib / 1024, 1) for kib in memory_kib(member.pid))])
    return rows


def path_label(path: str) -> str:
    """The path with its reference and ids replaced, to count visits by page."""
    return re.sub(r"/\d+/", "/<id>/", REFERENCE.sub("<reference>", path))


def wait_for_lock() -> None:
    """Wait while another benchmark holds the machine's lock (the Stack takes it for itself just after)."""
    announced = False
    while True:
        with LOCK_PATH.open("w") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if not announced:
                    print(f"waiting for {LOCK_PATH}: another benchmark run holds it", flush=True)
                    announced = True
        time.sleep(5)


class Browser:
    """A browser's session over the proxy's HTTPS: its cookies (Secure ones too) and the CSRF Origin check."""

    def __init__(self, web: str) -> None:
        self.web = web
        self.session = requests.Session()
        self.session.headers.update({**PROXY_HEADERS, "Origin": web.replace("http://", "https://")})
        self.statuses: Counter = Counter()

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return self._send("GET", path, **kwargs)

    def post(self, path: str, **kwargs: object) -> requests.Response:
        return self._send("POST", path, **kwargs)

    def form_post(self, path: str, fields: dict[str, str]) -> requests.Response:
        """The page's form sent back with its hidden fields (CSRF and form tokens) and `fields`."""
        hidden = dict(HIDDEN_INPUT.findall(self.get(path).text))
        return self.post(path, data={**hidden, **fields})

    def _send(self, method: str, path: str, **kwargs: object) -> requests.Response:
        response = self.session.request(method, f"{self.web}{path}", allow_redirects=False, timeout=60, **kwargs)
        for cookie in self.session.cookies:
            cookie.secure = False  # the proxy's HTTPS ends before us: send them back over plain HTTP
        self.statuses[(method, path_label(path), response.status_code)] += 1
        return response


def slack_signed(secret: str, body: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def pages_round(stack: Stack, browser: Browser, staff: Browser, signing_secret: str, reference: str) -> None:
    """One visit of every kind of page a deployment serves besides REST reports."""
    api = {**PROXY_HEADERS, "Authorization": f"Bearer {stack.token}"}
    _, body = report_body("webmemory", int(time.time()) % 100_000)
    browser.form_post("/", {**body, "urgency": str(body["urgency"])})
    browser.get("/status", params={"reference": reference})
    browser.form_post("/status", {"reference": reference, "email": body["email"]})
    browser.get("/api/schema/")
    browser.get("/api/docs/")
    browser.get("/api/docs/", params={"script": ""})
    browser.get("/api/redoc/")
    for path in ("/api/v1/incidents", f"/api/v1/incidents/{reference}"):
        browser.get(path, headers=api)
    staff.get("/admin/")
    listing = staff.get("/admin/process_apis/incidentrequest/")
    for change in CHANGE_LINK.findall(listing.text)[:2]:
        staff.get(change)
    staff.get("/admin/process_apis/notificationdelivery/")
    staff.get("/catalog/")
    staff.get("/api/internal/schema/")
    staff.get("/api/internal/docs/")
    for text in ("help", f"status {reference}"):
        command = urlencode(
            {
                "team_id": SLACK_TEAM,
                "user_id": "U0BENCH",
                "user_name": "bench",
                "command": "/incident",
                "text": text,
                "trigger_id": "1.2.3",
                "response_url": f"{stack.sandbox}/slack/commands/response",
            }
        )
        browser.post("/api/slack/v1/commands", data=command, headers=slack_signed(signing_secret, command))


# Run in a bare interpreter with the deployment's environment, so that nothing of the benchmark's own is counted.
LOADED = """
import json, sys, collections
from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver
get_wsgi_application()
get_resolver().url_patterns
rss = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:"))
packages = collections.Counter(name.partition(".")[0] for name in sys.modules)
print(json.dumps({"rss_mb": rss / 1024, "modules": len(sys.modules), "packages": packages}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=300, help="REST v1 reports sent first (default 300)")
    parser.add_argument("--rounds", type=int, default=5, help="visits of the other pages after them (default 5)")
    parser.add_argument("--imports", action="store_true", help="also print what loading the WSGI app imports")
    add_server_arguments(parser)
    args = parser.parse_args(argv)
    out_dir = ROOT / "var" / "bench" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-web-memory"
    signing_secret = secrets.token_hex(16)
    settings = {**APP_ENV, "SLACK_SIGNING_SECRET": signing_secret, "SLACK_TEAM_IDS": SLACK_TEAM}
    web_config = {name: os.environ.get(name, "gunicorn.conf default") for name in ("WEB_CONCURRENCY", "WEB_THREADS")}
    print(f"web memory run; logs under {out_dir}; web {web_config}", flush=True)
    # A SIGTERM ends the run as Ctrl-C does: the deployment is stopped and its databases dropped, not left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"{Path(__file__).name}: stopped by SIGTERM"))
    wait_for_lock()
    with Stack(postgres=args.postgres, redis_server=args.redis, logs=out_dir / "logs", settings=settings) as stack:
        assert stack.hub is not None
        password = secrets.token_urlsafe(16)
        stack.hub.run(
            f"{BIN}/python manage.py createsuperuser --noinput",
            DJANGO_SUPERUSER_USERNAME=STAFF,
            DJANGO_SUPERUSER_PASSWORD=password,
            DJANGO_SUPERUSER_EMAIL="staff@example.com",
        )
        stack.start_app(beat=False)
        rows = memory_rows(stack, "started")
        batch = Reporter(stack.token, uuid.uuid4().hex[:6]).closed(stack.web, 8, count=args.reports)
        print(f"{len(batch.accepted)} of {len(batch.sent)} reports accepted in {batch.elapsed:.1f} s", flush=True)
        rows += memory_rows(stack, f"{args.reports} reports")
        reference = batch.accepted[0].reference if batch.accepted else "IH-0000000000"
        browser, staff = Browser(stack.web), Browser(stack.web)
        staff.form_post("/admin/login/", {"username": STAFF, "password": password, "next": "/admin/"})
        for _ in range(args.rounds):
            pages_round(stack, browser, staff, signing_secret, reference)
        rows += memory_rows(stack, f"+ {args.rounds} rounds of pages")
        answers = [[*key, count] for key, count in sorted((browser.statuses + staff.statuses).items())]
        print(format_table("Pages visited", ["method", "path", "status", "count"], answers))
        print(
            format_table(
                "Memory (MB)",
                ["after", "process", "role", "pid", "RSS", "PSS", "USS"],
                rows,
                note="RSS: resident pages, those shared with other processes (libraries, pages inherited from "
                "gunicorn's master) counted in full; PSS: shared pages divided among the processes sharing them; "
                "USS: this process's own.",
            )
        )
        if args.imports:
            probe = json.loads(stack.hub.run(f"{BIN}/python -c {shlex.quote(LOADED)}").splitlines()[-1])
            top = sorted(probe["packages"].items(), key=lambda item: -item[1])[:30]
            print(
                f"Loading the WSGI application and its URLconf: {probe['rss_mb']:.1f} MB, {probe['modules']} modules; "
                "modules by top-level package: " + ", ".join(f"{name} {count}" for name, count in top)
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
