"""The broker stopped and a worker killed mid-task: every notification still arrives, exactly once.

Services tier only (DATABASE_URL on PostgreSQL and REDIS_URL set): a worker process cannot share the
in-memory SQLite test database. Each test starts its own `redis-server` on a free port as the broker
(the machine's shared Redis is only the cache) and real `celery worker` processes against it and the
PostgreSQL test database; every process is stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connections
from django.utils import timezone

from incidents_site.celery import app as celery_app
from kernel.work import work_sweep
from process_apis.models import IncidentRequest, NotificationDelivery
from sandbox.models import Fault
from sandbox.slack.models import Message as SlackMessage
from tests.faults.conftest import slack_fields

pytestmark = [
    pytest.mark.services,
    pytest.mark.skipif(
        not (os.environ.get("REDIS_URL") and os.environ.get("DATABASE_URL", "").startswith("postgres")),
        reason="needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL): run by .ci/run's services tier",
    ),
    pytest.mark.django_db(transaction=True, databases=["default", "legacy"]),
]
ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A `redis-server` of this test's own, stopped and started again on the same port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def answers() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_for(answers, 10, f"redis-server on port {self.port}")
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


class Worker:
    """A real `celery worker` process; its log is kept to show what it did and to see when it is ready."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        command = [sys.executable, "-m", "celery", "-A", "incidents_site", "worker", "--pool=threads", "-c", "2"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"]
        self._log_file = log.open("w")
        self.process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        wait_for(lambda: " ready." in self.output() or self.process.poll() is not None, 30, "the worker to start")
        assert self.process.poll() is None, f"the worker died:\n{self.output()[-3000:]}"

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_file.close()


def _reset_publisher() -> None:
    """Drop the test process's broker connections so that the next publish uses the current broker_url."""
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def _database_url(alias: str) -> str:
    db = connections[alias].settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture
def broker(tmp_path) -> Iterator[RedisServer]:
    """Our own Redis as the broker of this process (published to for real, not run eagerly)."""
    server = RedisServer(tmp_path)
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
    try:
        server.start()
        celery_app.conf.update(broker_url=server.url, task_always_eager=False)
        _reset_publisher()
        yield server
    finally:
        celery_app.conf.update(saved)
        _reset_publisher()
        server.stop()


@pytest.fixture
def start_worker(broker, site, tmp_path) -> Iterator[Callable[..., Worker]]:
    """Start a worker on our broker, the test databases and the sandbox; every one is stopped at the end."""
    started: list[Worker] = []

    def start(**env: str) -> Worker:
        worker = Worker(
            {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "incidents_site.settings",
                "DATABASE_URL": _database_url("default"),
                "LEGACY_DATABASE_URL": _database_url("legacy"),
                "CELERY_BROKER_URL": broker.url,
                "SERVICENOW_BASE_URL": f"{site}/sandbox/servicenow",
                "SALESFORCE_BASE_URL": f"{site}/sandbox/salesforce",
                "SLACK_API_URL": f"{site}/sandbox/slack/api/",
                "SLACK_CHANNEL": "#incidents",
                # The customer's e-mail to the worker's log, not to a mail server this machine may run.
                "EMAIL_URL": "console://",
                "INCIDENT_HUB_VAR_DIR": str(tmp_path),
                **env,
            },
            tmp_path / f"worker-{len(started) + 1}.log",
        )
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- {worker.log.name}\n{worker.output()[-4000:]}")


def slack_messages_by_reference() -> Counter[str]:
    """How many messages the Slack stand-in holds for each report (its Reference field)."""
    return Counter(slack_fields(message.blocks)["Reference"] for message in SlackMessage.objects.all())


def test_redis_stopped_during_submissions_every_notification_arrives_once_after_it_is_back(
    hub, broker, start_worker, settings
):
    """Mechanism: enqueuing never fails a request (notification_enqueue swallows the broker's error and
    leaves the delivery pending, the publish retry policy and socket timeouts keep that short), and the
    sweeper re-enqueues pending deliveries once the broker is back; the claim makes a task enqueued twice
    post once.

    Without it a report made while Redis is down fails (a 5xx) or waits out the broker's timeouts, or its
    notification is never sent (nothing left pending for the sweeper to find), or is sent twice.
    """
    settings.SWEEPER_GRACE = 1.0
    worker = start_worker()
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    broker_wait = options["socket_timeout"] + options["socket_connect_timeout"]

    broker.stop()
    reports = [hub.report(short_description=f"Parcel {n} never arrived") for n in range(4)]

    for reported in reports:
        assert reported.response.status_code == 201, reported.response.text
        assert reported.body["servicenow_number"] is not None
        assert reported.seconds < broker_wait / 4, f"a report took {reported.seconds:.2f} s with the broker down"
    references = [reported.body["reference"] for reported in reports]
    deliveries = NotificationDelivery.objects.filter(request__reference__in=references)
    assert sorted(deliveries.values_list("work__state", "work__attempts")) == [("pending", 0)] * 4
    assert not SlackMessage.objects.exists()
    assert worker.process.poll() is None

    broker.start()
    # The worker finds the broker again by itself (its reconnect declares its queue anew in the empty Redis).
    wait_for(lambda: worker.output().count("Connected to redis://") >= 2, 20, "the worker to reconnect")
    time.sleep(settings.SWEEPER_GRACE)
    swept = work_sweep()

    # The customers' confirmations never reached the broker either.
    assert swept == {"notification": 4, "email": 4}
    wait_for(lambda: deliveries.filter(work__state="done").count() == 4, 15, "every notification to be sent")
    assert sorted(deliveries.values_list("work__state", "work__attempts")) == [("done", 1)] * 4
    assert slack_messages_by_reference() == Counter(references)

    # A sweep after the fact finds nothing to do, and nothing arrives twice.
    assert work_sweep() == {}
    time.sleep(1)
    assert slack_messages_by_reference() == Counter(references)


def test_a_worker_killed_inside_the_slack_call_is_taken_over_and_the_message_posted_once(hub, start_worker, settings):
    """Mechanism: the delivery's claim (state "sending", claimed_at) expires after NOTIFICATION_CLAIM_LEASE,
    the sweeper re-enqueues a delivery whose claim expired, and a new worker takes it over.

    The killed worker's task is never acknowledged, but Redis would hand it out again only after its
    visibility timeout (an hour): without the lease takeover the delivery stays "sending" for good and no
    message is ever posted; without the claim a re-run could post while the first attempt is live.
    """
    lease = 5.0  # longer than the worker's Slack read timeout: a live attempt is never taken over
    settings.NOTIFICATION_CLAIM_LEASE = lease
    worker_env = {"NOTIFICATION_CLAIM_LEASE": str(lease), "SLACK_READ_TIMEOUT": "4"}
    first = start_worker(**worker_env)
    # Slack's stand-in holds the first request 2.5 s, then answers it 503: the hung call stores nothing.
    hub.set_faults("slack", hang_next=1, hang_phase="before", hang_seconds=2.5, fail_next=1)

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    request = IncidentRequest.objects.get(reference=reported.body["reference"])
    delivery = request.notifications.get()
    wait_for(
        lambda: (
            Fault.for_system("slack").hang_next == 0
            and NotificationDelivery.objects.get(pk=delivery.pk).state == "sending"
        ),
        10,
        "the worker to be inside the Slack call",
    )
    first.kill()

    wait_for(lambda: Fault.for_system("slack").fail_next == 0, 10, "the hung Slack request to end in a 503")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.work.attempts) == ("sending", 1)
    assert not delivery.work.history.exists()
    assert not SlackMessage.objects.exists()
    assert "notification" not in work_sweep()  # the claim still holds

    start_worker(**worker_env)
    wait_for(
        lambda: timezone.now() > delivery.work.claimed_at + timedelta(seconds=lease), lease + 1, "the lease to expire"
    )
    swept = work_sweep()

    assert swept == {"notification": 1}
    wait_for(lambda: NotificationDelivery.objects.get(pk=delivery.pk).state == "sent", 15, "the delivery to be sent")
    delivery.refresh_from_db()
    message = SlackMessage.objects.get()
    assert (delivery.work.attempts, delivery.slack_ts, delivery.slack_channel_id) == (2, message.ts, message.channel_id)
    assert list(delivery.work.history.values_list("number", "outcome")) == [(2, "done")]
    assert slack_messages_by_reference() == Counter([request.reference])
    assert Fault.for_system("slack").requests_seen == 2  # the hung call, then the one post

    assert work_sweep() == {}
    time.sleep(1)
    assert SlackMessage.objects.count() == 1
