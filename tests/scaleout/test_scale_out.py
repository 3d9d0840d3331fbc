"""Scale-out: the production process definition on PostgreSQL and a real broker, roughed up, loses nothing.

Procfile.production runs as written (the release step, two gunicorn instances on two ports, a worker per queue,
one beat) with the vendors pointed at a sandbox of its own. Reports arrive over REST v1, spread over both web
processes, while ServiceNow and Slack misbehave; a third of the way in the ServiceNow worker is killed with SIGKILL
(pool and all) and started again, two thirds in one web process is restarted. Then every accepted report must have
exactly one ServiceNow incident and one Slack message, and be stored once. Once with Redis as the broker, once with
RabbitMQ. Runs in .ci/run's services tier (it needs DATABASE_URL on PostgreSQL, and RABBITMQ_URL for RabbitMQ).
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
import requests
from celery import Celery

from bench.deployment import (
    BIN,
    Deployment,
    free_port,
    procfile,
    rabbitmq_vhost,
    redis_databases,
    start_sandbox,
    tasks_held,
    wait_for_worker,
    wait_until_up,
)
from bench.load import api_session, get_token, report_body, set_faults, settle, submit
from tests.scaleout import REDIS_SERVER
from tests.scaleout.staging import staging_deployment

RABBITMQ_URL = os.environ.get("RABBITMQ_URL", "")

REPORTS = 90
CLIENTS = 6
# What a TLS-terminating proxy in front adds; production settings redirect plain HTTP otherwise.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
FAULTS = {
    "servicenow": {"error_rate": 0.3, "error_status": 503, "hang_next": 3, "hang_phase": "after", "hang_seconds": 5},
    "salesforce": {"error_rate": 0.1, "error_status": 503},
    "slack": {"rate_limit_next": 5, "retry_after": 1, "error_rate": 0.2, "error_status": 503},
}
# Shorter timeouts, leases and back-offs than production's, so the run settles in a minute or two.
QUICK_RECOVERY = {
    "REPORT_DOWNSTREAM_BUDGET": "8",
    "SERVICENOW_READ_TIMEOUT": "3",
    "SERVICENOW_SYNC_LEASE": "20",
    "SERVICENOW_RETRY_BASE": "1",
    "SERVICENOW_RETRY_CAP": "5",
    "SLACK_READ_TIMEOUT": "3",
    "NOTIFICATION_CLAIM_LEASE": "15",
    "NOTIFICATION_RETRY_BASE": "1",
    "NOTIFICATION_RETRY_CAP": "5",
    "SWEEPER_GRACE": "5",
    "CIRCUIT_BREAKER_RESET_TIMEOUT": "3",
    "SLACK_POSTS_PER_SECOND": "20",
}


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request):
    run = uuid.uuid4().hex[:8]
    if request.param == "redis":
        broker_url, cache_url = f"{REDIS_SERVER}/13", f"{REDIS_SERVER}/12"
        with redis_databases(broker_url, cache_url):
            yield broker_url, cache_url
        return
    if not RABBITMQ_URL:
        pytest.skip("needs RabbitMQ (RABBITMQ_URL): run by .ci/run")
    cache_url = f"{REDIS_SERVER}/12"
    with redis_databases(cache_url), rabbitmq_vhost(RABBITMQ_URL, f"incident_hub_scale_out_{run}") as broker_url:
        yield broker_url, cache_url


@pytest.fixture
def deployment(broker, tmp_path):
    broker_url, cache_url = broker
    settings = {"WEB_CONCURRENCY": "2", "WEB_THREADS": "4", **QUICK_RECOVERY}
    with staging_deployment(
        tmp_path, "ih_scale", broker_url=broker_url, cache_url=cache_url, settings=settings
    ) as staging:
        yield staging.hub, staging.sandbox


def start_web(hub: Deployment, name: str, port: int, processes: dict[str, str]) -> str:
    hub.start(name, processes["web"], PORT=str(port))
    web = f"http://127.0.0.1:{port}"
    wait_until_up(f"{web}/health/live")
    return web


def wait_for_done(futures: list[Future], count: int) -> None:
    while sum(future.done() for future in futures) < count:
        time.sleep(0.1)


def wait_until_holding_work(control: Celery, worker: str, futures: list[Future]) -> int:
    """Wait until the worker holds tasks (running, prefetched or due later) while reports still arrive."""
    while not all(future.done() for future in futures):
        held = tasks_held(control, worker)
        if held:
            return held
    raise AssertionError(f"{worker} never held a task while the reports arrived: there was nothing to lose")


def test_every_accepted_report_reaches_servicenow_and_slack_exactly_once(deployment):
    hub, sandbox = deployment
    processes = procfile()
    start_sandbox(hub, sandbox, threads=16)
    hub.run(processes["release"])
    hub.run(f"{BIN}/python manage.py seed_legacy_customers")
    credentials = dict(
        line.split("=", 1)
        for line in hub.run(f"{BIN}/python manage.py create_api_client scale-out --tier gold").splitlines()
        if "=" in line
    )
    ports = {"web_a": free_port(), "web_b": free_port()}
    webs = [start_web(hub, name, port, processes) for name, port in ports.items()]
    for name in ("worker_servicenow", "worker_slack", "beat"):
        hub.start(name, processes[name])
    control = Celery(broker=hub.environment["CELERY_BROKER_URL"], set_as_current=False)
    servicenow_worker = f"servicenow@{socket.gethostname()}"
    for worker in (servicenow_worker, f"slack@{socket.gethostname()}"):
        wait_for_worker(control, worker)
    token = get_token(webs[0], credentials["client_id"], credentials["client_secret"], PROXY_HEADERS)

    run_id = time.strftime("%Y%m%d%H%M%S") + "-" + uuid.uuid4().hex[:6]
    sessions = threading.local()

    def report(number: int):  # noqa: ANN202
        if not hasattr(sessions, "session"):
            sessions.session = api_session(token, PROXY_HEADERS)
        marker, body = report_body(run_id, number)
        return submit(sessions.session, webs, marker, body, give_up_after=150, timeout=30, first=number)

    set_faults(sandbox, FAULTS)
    with ThreadPoolExecutor(CLIENTS) as clients:
        futures = [clients.submit(report, number) for number in range(REPORTS)]
        wait_for_done(futures, REPORTS // 3)
        held = wait_until_holding_work(control, servicenow_worker, futures)
        hub.kill("worker_servicenow")
        print(f"killed {servicenow_worker} holding {held} tasks")
        hub.start("worker_servicenow", processes["worker_servicenow"])
        wait_for_done(futures, 2 * REPORTS // 3)
        hub.stop("web_a")
        start_web(hub, "web_a", ports["web_a"], processes)
        outcomes = [future.result() for future in futures]
    set_faults(sandbox, {})

    refused = [(outcome.marker, outcome.status, outcome.error) for outcome in outcomes if not outcome.reference]
    assert not refused
    accepted = {outcome.marker: outcome.reference for outcome in outcomes}
    observed = argparse.Namespace(
        web=webs[1],
        sandbox=sandbox,
        headers=PROXY_HEADERS,
        servicenow_user="incident.hub",
        servicenow_password="sandbox-servicenow-password",
        settle=240.0,
        poll=3.0,
        grace=5.0,
    )
    result, local = settle(observed, token, run_id, accepted, list(accepted))

    assert len(local) == REPORTS
    assert (result.lost, result.duplicated, result.unconfirmed) == ({}, {}, [])
    assert all(report["servicenow_number"] for report in local)
    assert requests.get(f"{webs[0]}/health/ready", timeout=10).status_code == 200
