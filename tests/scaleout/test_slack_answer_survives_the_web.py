"""The Slack command's answer that follows is durable: the web process that acknowledged the command is killed with
SIGKILL right after its answer, and the full answer still reaches Slack, once.

Real processes on PostgreSQL and Redis: gunicorn, a Celery worker for the ServiceNow and Slack queues, and the
sandbox, whose Slack sends the signed command exactly as Slack does and whose ServiceNow takes longer than the
command's time budget. Runs in .ci/run's services tier (it needs DATABASE_URL on PostgreSQL).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests

from bench.deployment import BIN, free_port, start_sandbox, wait_until_up
from bench.load import set_faults
from tests.scaleout import REDIS_SERVER
from tests.scaleout.staging import staging_deployment

# Slack gives up after 3 s; ServiceNow answers after 3.5 s, past the command's 2 s budget but within its timeout.
SLACK_PATIENCE = 3.0
SERVICENOW_LATENCY_MS = 3500


def development_environment(
    *, main: str, legacy: str, sandbox_db: str, cache_url: str, broker_url: str, sandbox: str, state: Path
) -> dict[str, str]:
    """The development settings on the run's databases and Redis, with the sandbox at `sandbox` as the vendors."""
    return {
        "DJANGO_SETTINGS_MODULE": "incidents_site.settings",
        "DATABASE_URL": main,
        "LEGACY_DATABASE_URL": legacy,
        "SANDBOX_DATABASE_URL": sandbox_db,
        "REDIS_URL": cache_url,
        "CELERY_BROKER_URL": broker_url,
        "INCIDENT_HUB_VAR_DIR": str(state / "var"),
        "SANDBOX_URL": sandbox,
        "SANDBOX_SERVICENOW_EVENT_URL": "",
    }


@pytest.fixture
def hub(tmp_path):
    broker_url, cache_url = f"{REDIS_SERVER}/11", f"{REDIS_SERVER}/10"
    web = f"http://127.0.0.1:{free_port()}"
    settings = {
        "SANDBOX_SLACK_COMMAND_URL": f"{web}/api/slack/v1/commands",
        "EMAIL_URL": "console://",
        "SERVICENOW_READ_TIMEOUT": "10",
        "SERVICENOW_RETRY_BASE": "1",
        "SERVICENOW_RETRY_CAP": "3",
    }
    with staging_deployment(
        tmp_path,
        "ih_slack",
        broker_url=broker_url,
        cache_url=cache_url,
        redis=(broker_url, cache_url),
        settings=settings,
        environment=development_environment,
    ) as staging:
        yield staging.hub, staging.sandbox, web


def answers_by_response_url(sandbox: str) -> list[dict]:
    response = requests.get(f"{sandbox}/slack/_sandbox/responses", params={"kind": "response_url"}, timeout=10)
    response.raise_for_status()
    return response.json()["responses"]


def test_the_full_answer_arrives_once_though_the_web_process_died_after_acknowledging(hub):
    deployment, sandbox, web = hub
    start_sandbox(deployment, sandbox, threads=8)
    deployment.run(f"{BIN}/python manage.py migrate --noinput -v 0 && {BIN}/python manage.py seed_legacy_customers")
    port = web.rsplit(":", 1)[1]
    deployment.start("web", f"{BIN}/gunicorn incidents_site.wsgi --bind 127.0.0.1:{port} -k gthread --threads 4")
    deployment.start("worker", f"{BIN}/celery -A incidents_site worker -Q servicenow,slack,celery --pool=threads -c 4")
    wait_until_up(f"{web}/health/live")
    set_faults(sandbox, {"servicenow": {"latency_ms": SERVICENOW_LATENCY_MS}})

    sent = requests.post(
        f"{sandbox}/slack/_sandbox/commands",
        json={"text": "report ada.lovelace@example.com order 2 Parcel never arrived", "user_name": "grace"},
        timeout=30,
    )
    deployment.kill("web")

    assert sent.status_code == 200, sent.text
    answer = sent.json()["answer"]
    assert (answer["status"], answer["elapsed_ms"] < SLACK_PATIENCE * 1000) == (200, True), answer
    assert "Its ServiceNow incident follows in a message to you" in answer["message"]["text"], answer
    deadline = time.monotonic() + 90
    while not (followed := answers_by_response_url(sandbox)) and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(5)  # long enough for a second answer, were one sent
    followed = answers_by_response_url(sandbox)
    assert len(followed) == 1, followed
    reference = answer["message"]["text"].split("*")[1]
    assert followed[0]["message"]["text"].startswith(f"*{reference}* is *INC"), followed
