"""Redis round trips of one REST report in the web process, in the steady state: at most 3.

Counted where they would cross the network: with REDIS_URL, every command redis-py sends (a pipeline is one);
on the default in-memory test cache, every cache operation that would be one on Redis. A report hands its
Slack notice to Celery after the commit: each publish is one more (an LPUSH on a Redis broker), counted here
instead of run, because the notice is posted by the worker, not by the web process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from celery.app.task import Task
from django.core.cache import caches

from system_apis import shared_state
from tests.reports import KATHERINE_REPORT as REPORT
from tests.security.conftest import api_as

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

# The cache operations that are each one round trip on Redis (django-redis sends one command, or one script).
CACHE_OPERATIONS = (
    "get",
    "get_many",
    "set",
    "set_many",
    "add",
    "incr",
    "decr",
    "delete",
    "delete_many",
    "touch",
    "has_key",
    "get_or_set",
)


@dataclass
class RoundTrips:
    made: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.made.append(what)

    def clear(self) -> None:
        with self.lock:
            self.made.clear()


def _counting_redis(monkeypatch: pytest.MonkeyPatch, trips: RoundTrips) -> None:
    from redis.client import Pipeline, Redis

    send, send_pipeline = Redis.execute_command, Pipeline.execute

    def execute_command(self: Redis, *args: Any, **options: Any) -> Any:
        if not isinstance(self, Pipeline):
            trips.count(str(args[0]).lower())
        return send(self, *args, **options)

    def execute(self: Pipeline, *args: Any, **options: Any) -> Any:
        trips.count("pipeline")
        return send_pipeline(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", execute_command)
    monkeypatch.setattr(Pipeline, "execute", execute)


def _counting_cache(monkeypatch: pytest.MonkeyPatch, trips: RoundTrips) -> None:
    backend = type(caches["default"])
    depth = threading.local()  # BaseCache.get_many calls get: one operation, counted once

    def counted(name: str, operation: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            outer = not getattr(depth, "level", 0)
            if outer:
                trips.count(name)
            depth.level = getattr(depth, "level", 0) + 1
            try:
                return operation(self, *args, **kwargs)
            finally:
                depth.level -= 1

        return call

    for name in CACHE_OPERATIONS:
        monkeypatch.setattr(backend, name, counted(name, getattr(backend, name)))


@pytest.fixture
def round_trips(monkeypatch) -> Iterator[RoundTrips]:
    trips = RoundTrips()
    if type(caches["default"]).__module__.startswith("django_redis"):
        _counting_redis(monkeypatch, trips)
    else:
        _counting_cache(monkeypatch, trips)

    def publish(task: Task, *args: Any, **kwargs: Any) -> None:
        trips.count(f"publish {task.name}")

    monkeypatch.setattr(Task, "apply_async", publish)
    return trips


@pytest.fixture
def reporting(vendors, legacy_customers, django_capture_on_commit_callbacks, snapshot_clock) -> Callable[[], int]:
    """Reports of one API client, each answered 201; the first opens the rate window and fetches the token."""
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010009")
    api = api_as("partner-app")

    def report() -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return api.post("/api/v1/incidents", REPORT, content_type="application/json").status_code

    assert report() == 201
    return report


def as_sent(*operations: str) -> list[str]:
    """The cache operations as the round trips they are: django-redis sends incr as a script, get_many as MGET."""
    if type(caches["default"]).__module__.startswith("django_redis"):
        return [{"incr": "eval", "get_many": "mget"}.get(operation, operation) for operation in operations]
    return list(operations)


def test_a_rest_report_makes_three_redis_round_trips_when_the_circuits_are_read_again(
    round_trips, reporting, snapshot_clock
):
    # The process's snapshot of circuits and quota holds is a second old: this report reads it again.
    snapshot_clock.advance(shared_state.REFRESH_SECONDS)
    round_trips.clear()

    assert reporting() == 201

    # The rate limit's count, the circuits and holds of every system at once, the customer's confirmation and the
    # Slack notice handed to Celery.
    assert round_trips.made == [
        *as_sent("incr", "get_many"),
        "publish process_apis.send_customer_mail",
        "publish process_apis.deliver_notification",
    ]


def test_reports_within_a_second_of_each_other_read_the_circuits_once(round_trips, reporting):
    round_trips.clear()

    assert [reporting(), reporting()] == [201, 201]

    assert (
        round_trips.made
        == [*as_sent("incr"), "publish process_apis.send_customer_mail", "publish process_apis.deliver_notification"]
        * 2
    )
