"""The migration benchmark's pure parts: which worker it starts and how, and how it shares out a run's time."""

import argparse

import pytest

from bench.deployment import procfile
from bench.migration import (
    CallTotal,
    celery_worker_for,
    node_name,
    parse_sizes,
    poll_sleeps,
    where_time_goes,
    with_pool,
)

PROCFILE = {
    "release": ".venv/bin/python manage.py migrate --noinput",
    "web": ".venv/bin/gunicorn incidents_site.wsgi -c deploy/gunicorn.conf.py",
    "worker_slack": ".venv/bin/celery -A incidents_site worker -Q slack --pool=prefork --concurrency=2 -n slack@%h",
    "worker_main": "/srv/.venv/bin/celery -A incidents_site worker -Q servicenow,celery --pool=prefork --concurrency=4"
    " --hostname=servicenow@%h",
    "beat": ".venv/bin/celery -A incidents_site beat",
}


def test_the_worker_is_the_one_whose_queue_list_names_the_queue():
    assert celery_worker_for(PROCFILE, "celery") == ("worker_main", PROCFILE["worker_main"])
    assert celery_worker_for(PROCFILE, "slack")[0] == "worker_slack"
    with pytest.raises(LookupError):
        celery_worker_for(PROCFILE, "email")


def test_the_production_procfile_has_a_worker_for_the_migrations_queue():
    name, command = celery_worker_for(procfile(), "celery")

    assert " worker " in command
    assert name.startswith("worker")


def test_solo_replaces_the_pool_and_drops_the_concurrency_prefork_keeps_it():
    command = PROCFILE["worker_main"]

    solo = with_pool(command, "solo")
    assert solo == (
        "/srv/.venv/bin/celery -A incidents_site worker -Q servicenow,celery --pool=solo --hostname=servicenow@%h"
    )
    assert with_pool(command, "prefork") == command
    assert with_pool("celery -A x worker -P prefork -c 4 -n a@%h", "solo") == "celery -A x worker --pool=solo -n a@%h"
    assert with_pool("celery -A x worker -Q celery", "solo") == "celery -A x worker -Q celery --pool=solo"


def test_the_node_name_expands_the_hostname_as_celery_does():
    assert node_name(PROCFILE["worker_main"], "box.example.org") == "servicenow@box.example.org"
    assert node_name("celery -A x worker -n %n.w@%d", "box.example.org") == "box.w@example.org"
    assert node_name("celery -A x worker", "box") == "celery@box"


def test_the_wall_time_is_shared_out_between_calls_sleeps_and_hops():
    calls = [
        CallTotal("process", "customer_migration", "chunk", calls=3, seconds=30.0),
        CallTotal("process", "celery", "process_apis.migrate_legacy_customers", calls=3, seconds=30.5),
        CallTotal("system", "legacy_db", "read_page", calls=3, seconds=0.6),
        CallTotal("system", "salesforce", "create_bulk_job", calls=2, seconds=0.1),
        CallTotal("system", "salesforce", "upload_bulk_job_data", calls=2, seconds=0.3),
        CallTotal("system", "salesforce", "get_bulk_job", calls=6, seconds=4.0),
    ]

    split = where_time_goes(calls, wall=32.0, poll_seconds=5.0)

    # Two jobs polled three times each: 0.5 s and 1 s of sleep a job.
    assert split["sleeping_between_polls_seconds"] == 3.0
    assert split["system_seconds"] == pytest.approx(5.0)
    assert split["rest_of_attempts_seconds"] == pytest.approx(22.0)
    assert split["between_attempts_seconds"] == pytest.approx(2.0)
    assert (split["attempts"], split["jobs"], split["job_polls"], split["system_calls"]) == (3, 2, 6, 13)


def test_a_dry_run_has_no_job_and_no_sleep():
    calls = [
        CallTotal("process", "customer_migration", "chunk", calls=2, seconds=1.5),
        CallTotal("system", "legacy_db", "read_page", calls=2, seconds=0.5),
    ]

    split = where_time_goes(calls, wall=1.6, poll_seconds=5.0)

    assert (split["jobs"], split["sleeping_between_polls_seconds"]) == (0, 0.0)
    assert split["rest_of_attempts_seconds"] == pytest.approx(1.0)


def test_sizes_are_positive_counts():
    assert parse_sizes("1000,10_000, 100000") == [1000, 10000, 100000]
    with pytest.raises(argparse.ArgumentTypeError):
        parse_sizes("1000,0")


@pytest.mark.parametrize(
    ("polls", "jobs", "poll_seconds", "slept"),
    [
        (1, 1, 5.0, 0.0),  # done at the first poll
        (7, 1, 5.0, 0.5 + 1 + 2 + 4 + 5 + 5),  # the waits double, then stay at the longest
        (7, 2, 5.0, (0.5 + 1 + 2) + (0.5 + 1)),  # four polls for one job, three for the other
        (3, 1, 0.2, 0.4),  # a longest wait under the first is every wait
        (0, 0, 5.0, 0.0),
    ],
)
def test_the_sleeps_between_polls_are_the_connectors_doubling_waits(polls, jobs, poll_seconds, slept):
    assert poll_sleeps(polls, jobs, poll_seconds) == pytest.approx(slept)
