"""Writes that take one statement for two: an update and the row it calls for (one statement on PostgreSQL, two
elsewhere); an update and the row it leaves (one statement where the database returns what it updates)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kernel.db import get_with_related, update_returning, update_then_insert
from kernel.models import Work, WorkAttempt

pytestmark = pytest.mark.django_db


def test_the_row_is_inserted_only_when_the_update_found_its_row():
    work = Work.objects.create(kind="servicenow_sync", subject="IH-0000000001", state="running", claim=3)

    with CaptureQueriesContext(connection) as queries:
        written = update_then_insert(
            Work,
            {"pk": work.pk, "claim": 3},
            {"state": "done"},
            WorkAttempt(work=work, number=1, outcome="done"),
            "work",
        )
    missed = update_then_insert(
        Work,
        {"pk": work.pk, "claim": 2},
        {"state": "failed"},
        WorkAttempt(work=work, number=2, outcome="failed"),
        "work",
    )

    work.refresh_from_db()
    assert (written, missed, work.state) == (True, False, "done")
    assert list(work.history.values_list("number", "outcome")) == [(1, "done")]
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)


def test_the_row_inserted_may_name_the_row_the_updated_one_names():
    work = Work.objects.create(kind="notification", subject="IH-0000000001", state="running")
    first = WorkAttempt.objects.create(work=work, number=1, outcome="running")

    with CaptureQueriesContext(connection) as queries:
        written = update_then_insert(
            WorkAttempt,
            {"pk": first.pk},
            {"outcome": "retrying"},
            WorkAttempt(work_id=work.pk, number=2, outcome="done"),
            "work",
            linked_by="work",
        )

    assert written is True
    assert list(work.history.values_list("number", "outcome")) == [(1, "retrying"), (2, "done")]
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)


def test_an_update_returns_the_row_as_it_left_it_in_one_statement():
    work = Work.objects.create(kind="notification", subject="IH-0000000001", state="pending", claim=3, attempts=1)
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)

    with CaptureQueriesContext(connection) as queries:
        claimed = update_returning(
            Work,
            {"pk": work.pk, "state": "pending"},
            {"state": "running", "claimed_at": now},
            also_set=('"claim" = "claim" + 1', '"attempts" = "attempts" + 1'),
        )

    assert isinstance(claimed, Work)
    assert (claimed.pk, claimed.kind, claimed.subject, claimed.state) == (
        work.pk,
        "notification",
        "IH-0000000001",
        "running",
    )
    assert (claimed.claimed_at, claimed.claim, claimed.attempts) == (now, 4, 2)
    assert claimed.created_at == work.created_at and claimed._state.adding is False
    stored = Work.objects.get(pk=work.pk)
    assert (stored.state, stored.claimed_at, stored.claim, stored.attempts) == ("running", now, 4, 2)
    assert len(queries) == 1


def test_an_update_that_matches_no_row_returns_none_and_writes_nothing():
    work = Work.objects.create(kind="notification", subject="IH-0000000001", state="done", claim=3)

    assert update_returning(Work, {"pk": work.pk, "state": "pending"}, {"state": "running"}) is None
    assert Work.objects.get(pk=work.pk).state == "done"


def test_where_the_database_returns_nothing_the_update_and_a_read_of_the_row_take_its_place(monkeypatch):
    work = Work.objects.create(kind="notification", subject="IH-0000000001", state="retrying", attempts=2)
    monkeypatch.setattr("kernel.db.returns_rows", lambda connection: False)

    claimed = update_returning(
        Work,
        {"pk": work.pk},
        {"state": "running"},
        also_where='"state" IN (%s, %s)',
        also_params=["pending", "retrying"],
    )
    missed = update_returning(
        Work, {"pk": work.pk}, {"state": "done"}, also_where='"state" IN (%s, %s)', also_params=["pending", "retrying"]
    )

    assert (claimed.pk, claimed.state, claimed.attempts, missed) == (work.pk, "running", 2, None)
    assert Work.objects.get(pk=work.pk).state == "running"


def test_a_row_is_read_with_the_row_its_foreign_key_names_in_one_statement():
    work = Work.objects.create(kind="notification", subject="IH-0000000001", state="done", claim=3)
    attempt = WorkAttempt.objects.create(work=work, number=1, outcome="done", duration_ms=12)

    with CaptureQueriesContext(connection) as queries:
        read = get_with_related(WorkAttempt, "work", {"work": work.pk, "number": 1})
        subject, claim = read.work.subject, read.work.claim
    missing = get_with_related(WorkAttempt, "work", {"work": work.pk, "number": 2})

    assert (read.pk, read.outcome, read.duration_ms, read.at) == (attempt.pk, "done", 12, attempt.at)
    assert (subject, claim, read.work.created_at) == ("IH-0000000001", 3, work.created_at)
    assert read._state.adding is False and missing is None
    assert len(queries) == 1
