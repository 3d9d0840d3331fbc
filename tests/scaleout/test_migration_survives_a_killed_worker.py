"""The migration run survives a worker killed mid-chunk: it resumes at the chunk in flight and sends nothing twice.

Real processes on PostgreSQL and Redis, as Procfile.production runs them: the worker of the `celery` queue, beat (whose
sweeper hands work on once its claim's lease runs out) and the sandbox, whose Salesforce takes a few seconds per
Bulk job. A run of five chunks is started with `migration_run_start` (what the admin's start form calls), so that the
worker runs it; once two chunks are recorded and the third one's job is uploaded and closed, the worker is killed
with SIGKILL, pool and all, and a new one started. Then the run must be done with counts that add up, every customer
the mapping accepts uploaded in exactly one job, and one Contact per customer Salesforce accepted. Runs in .ci/run's
services tier (it needs DATABASE_URL on PostgreSQL).
"""

from __future__ import annotations

import csv
import io
import socket
import time
from collections import Counter
from dataclasses import dataclass

import psycopg
import pytest
import requests
from celery import Celery

from bench.deployment import BIN, procfile, start_sandbox, wait_for_worker
from tests.scaleout import REDIS_SERVER
from tests.scaleout.staging import staging_deployment

CHUNK = 200
CHUNKS = 5
# seed_legacy_customers always loads its 5 demo customers; the samples make up the rest.
DEMO_CUSTOMERS = 5
CUSTOMERS = CHUNK * CHUNKS
# Chunks recorded when the worker is killed: the next one is in flight.
KILLED_AFTER = 2
# A job waits 1 s in the queue, then takes about 2.5 s for its rows: the window in which the worker dies.
SLOW_BULK_JOBS = {"SANDBOX_SALESFORCE_BULK_QUEUE_SECONDS": "1", "SANDBOX_SALESFORCE_BULK_ROWS_PER_SECOND": "80"}
# A chunk's task may run 10 s (40 s with the hard limit), so its claim's lease must outlast that (process_apis.E004);
# the sweeper hands the killed worker's chunk on once the lease has run out.
LEASE = 41
QUICK_RECOVERY = {
    "MIGRATION_TASK_SOFT_TIME_LIMIT": "10",
    "MIGRATION_CLAIM_LEASE": str(LEASE),
    "MIGRATION_JOB_WAIT_SECONDS": "8",
    "MIGRATION_JOB_POLL_SECONDS": "0.5",
    "MIGRATION_RETRY_BASE": "1",
    "MIGRATION_RETRY_CAP": "3",
    "SWEEPER_GRACE": "5",
    "SERVICENOW_POLL_SECONDS": "0",
}
# Beat sends the sweep this long after it starts, and as often again (CELERY_BEAT_SCHEDULE).
SWEEP_EVERY = 30
SALESFORCE_API = "v62.0"
SANDBOX_CLIENT = {"client_id": "3MVG9sandbox.incident.hub", "client_secret": "sandbox-salesforce-secret"}
START_RUN = (
    "from process_apis.customer_migration.services import migration_run_start;"
    f" print(migration_run_start(chunk_size={CHUNK}).pk)"
)


@dataclass(frozen=True)
class RunRow:
    state: str
    checkpoint: str
    job_id: str
    chunks: int
    read: int
    sent: int
    created: int
    updated: int
    failed: int
    unmigratable: int
    error: str


@pytest.fixture
def hub(tmp_path):
    broker_url, cache_url = f"{REDIS_SERVER}/7", f"{REDIS_SERVER}/6"
    with staging_deployment(
        tmp_path,
        "ih_kill",
        broker_url=broker_url,
        cache_url=cache_url,
        redis=(broker_url, cache_url),
        settings={**SLOW_BULK_JOBS, **QUICK_RECOVERY},
    ) as staging:
        yield staging.hub, staging.sandbox, staging.main, staging.legacy


def run_row(database: psycopg.Connection, run_id: int) -> RunRow:
    row = database.execute(
        'SELECT state, checkpoint, job_id, chunks, "read", sent, created, updated, failed, unmigratable, error'
        " FROM process_apis_migrationrun WHERE id = %s",
        [run_id],
    ).fetchone()
    return RunRow(*row)


def seconds_until_claimed_for(database: psycopg.Connection, run_id: int, seconds: float) -> float:
    """How long until the run's work has been claimed for `seconds`, by the database's clock."""
    (left,) = database.execute(
        "SELECT EXTRACT(EPOCH FROM work.claimed_at + make_interval(secs => %s) - now())"
        " FROM kernel_work work JOIN process_apis_migrationrun run ON run.work_id = work.id WHERE run.id = %s",
        [seconds, run_id],
    ).fetchone()
    return float(left)


def sandbox_job_states(sandbox: str) -> dict[str, str]:
    response = requests.get(f"{sandbox}/salesforce/_sandbox/bulk-jobs", timeout=10)
    response.raise_for_status()
    return {job["id"]: job["state"] for job in response.json()}


def watch_until(
    database: psycopg.Connection, run_id: int, checkpoints: list[str], done, timeout: float, sandbox: str = ""
) -> RunRow:
    """Poll the run (and the sandbox's jobs, when `done` asks for them) until `done(run, jobs)`, noting each new
    checkpoint seen."""
    deadline = time.monotonic() + timeout
    while True:
        run = run_row(database, run_id)
        if run.checkpoint and (not checkpoints or checkpoints[-1] != run.checkpoint):
            checkpoints.append(run.checkpoint)
        if done(run, sandbox_job_states(sandbox) if sandbox else {}):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"not there within {timeout:.0f} s: {run}")
        time.sleep(0.1)


def uploaded_rows_by_job(sandbox: str) -> dict[str, tuple[str, list[str]]]:
    """Each Bulk job's state and the customer numbers of the rows it took, read as any Bulk API client reads them:
    a completed job's successful and failed results, an ended one's unprocessed records."""
    token = requests.post(
        f"{sandbox}/salesforce/services/oauth2/token",
        data={"grant_type": "client_credentials", **SANDBOX_CLIENT},
        timeout=10,
    )
    token.raise_for_status()
    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    jobs_url = f"{token.json()['instance_url']}/services/data/{SALESFORCE_API}/jobs/ingest"
    listed = api.get(jobs_url, timeout=10)
    listed.raise_for_status()
    result_kinds = {"JobComplete": ("successfulResults", "failedResults")}
    rows = {}
    for job in listed.json()["records"]:
        numbers = []
        for kind in result_kinds.get(job["state"], ("unprocessedrecords",)):
            answer = api.get(f"{jobs_url}/{job['id']}/{kind}/", timeout=30)
            answer.raise_for_status()
            numbers += [record["Legacy_Customer_Number__c"] for record in csv.DictReader(io.StringIO(answer.text))]
        rows[job["id"]] = (job["state"], numbers)
    return rows


def test_a_run_whose_worker_was_killed_mid_chunk_resumes_at_that_chunk_and_sends_nothing_twice(hub):
    deployment, sandbox, main, legacy = hub
    processes = procfile()
    setting_up = time.monotonic()
    start_sandbox(deployment, sandbox, threads=8)
    # The release step without its static files: no web process is started.
    deployment.run(f"{BIN}/python manage.py migrate --noinput -v 0")
    deployment.run(f"{BIN}/python manage.py seed_legacy_customers --count {CUSTOMERS - DEMO_CUSTOMERS}")
    with psycopg.connect(legacy) as connection:
        seeded = [
            number.strip() for (number,) in connection.execute("SELECT cust_no FROM cust_master ORDER BY cust_no")
        ]
    assert len(seeded) == CUSTOMERS
    deployment.start("worker", processes["worker_servicenow"])
    control = Celery(broker=deployment.environment["CELERY_BROKER_URL"], set_as_current=False)
    worker = f"servicenow@{socket.gethostname()}"
    wait_for_worker(control, worker)
    started = time.monotonic()
    print(f"set up in {started - setting_up:.1f} s")
    run_id = int(deployment.run(f"{BIN}/python manage.py shell -c '{START_RUN}'").split()[-1])
    checkpoints: list[str] = []

    with psycopg.connect(main, autocommit=True) as database:

        def chunk_in_flight_after_k(run: RunRow, jobs: dict[str, str]) -> bool:
            return run.chunks == KILLED_AFTER and jobs.get(run.job_id) in ("UploadComplete", "InProgress")

        in_flight = watch_until(database, run_id, checkpoints, chunk_in_flight_after_k, timeout=60, sandbox=sandbox)
        deployment.kill("worker")
        killed = time.monotonic()
        at_kill = run_row(database, run_id)
        deployment.start("worker_restarted", processes["worker_servicenow"])
        wait_for_worker(control, worker)
        # Beat's first sweep comes a period after it starts: started now, it would find the killed chunk's claim
        # still running and hand it on only a period later; so it starts to sweep just after the claim has run out.
        time.sleep(max(0.0, seconds_until_claimed_for(database, run_id, LEASE - SWEEP_EVERY + 2)))
        deployment.start("beat", processes["beat"])
        run = watch_until(database, run_id, checkpoints, lambda run, jobs: run.state != "running", timeout=150)
        finished = time.monotonic()
        rejected = dict(
            database.execute(
                "SELECT customer_number, source FROM process_apis_migrationrejection WHERE run_id = %s", [run_id]
            ).fetchall()
        )
        became = dict(database.execute("SELECT customer_number, contact_id FROM process_apis_migratedcustomer"))
    print(f"killed {killed - started:.1f} s into the run, done {finished - killed:.1f} s later")
    jobs = uploaded_rows_by_job(sandbox)
    contacts = requests.get(f"{sandbox}/salesforce/_sandbox/contacts", timeout=30).json()

    # The kill caught chunk k+1 in flight: chunk k recorded, the job of k+1 uploaded and closed, not yet recorded.
    boundaries = [seeded[CHUNK * n - 1] for n in range(1, CHUNKS + 1)]
    assert (at_kill.chunks, at_kill.checkpoint, at_kill.job_id) == (
        KILLED_AFTER,
        boundaries[KILLED_AFTER - 1],
        in_flight.job_id,
    )
    # The checkpoint only moved forward, chunk boundary by chunk boundary, past k to the last customer.
    assert checkpoints == sorted(set(checkpoints)), checkpoints
    assert set(checkpoints) <= set(boundaries) and checkpoints[-1] == seeded[-1], checkpoints
    assert boundaries[KILLED_AFTER - 1] in checkpoints and boundaries[KILLED_AFTER] in checkpoints, checkpoints

    assert (run.state, run.error, run.chunks, run.job_id, run.read) == ("done", "", CHUNKS, "", CUSTOMERS)
    refused = {number for number, source in rejected.items() if source == "mapping"}
    refused_by_salesforce = {number for number, source in rejected.items() if source == "salesforce"}
    migratable = [number for number in seeded if number not in refused]
    # One job per chunk, each completed; the one in flight at the kill was waited for and read, not sent again.
    assert sorted(state for state, _ in jobs.values()) == ["JobComplete"] * CHUNKS
    assert in_flight.job_id in jobs
    uploads = Counter(number for _, numbers in jobs.values() for number in numbers)
    assert {number: times for number, times in uploads.items() if times != 1} == {}
    assert sorted(uploads) == migratable
    chunk_in_flight = seeded[CHUNK * KILLED_AFTER : CHUNK * (KILLED_AFTER + 1)]
    assert sorted(jobs[in_flight.job_id][1]) == [number for number in chunk_in_flight if number not in refused]
    # The counts add up, and Salesforce holds one Contact for each customer it accepted.
    created = [number for number in migratable if number not in refused_by_salesforce]
    assert (run.sent, run.created, run.updated, run.failed, run.unmigratable) == (
        len(migratable),
        len(created),
        0,
        len(refused_by_salesforce),
        len(refused),
    )
    assert run.read == run.created + run.failed + run.unmigratable
    migrated = Counter(contact["legacy_customer_number"] for contact in contacts if contact["legacy_customer_number"])
    assert {number: times for number, times in migrated.items() if times != 1} == {}
    assert sorted(migrated) == created
    # Which Contact each customer became is recorded for the customer merge, the killed chunk's customers too.
    assert became == {c["legacy_customer_number"]: c["sf_id"] for c in contacts if c["legacy_customer_number"]}
