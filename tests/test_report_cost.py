"""What one REST report costs the main database, counted: a regression fails `make test`.

Counted in the steady state (the client's token already used once), on a transactional test database so
that commits are real: every statement the request sends to the main database and every commit (a
transaction's, or a write made outside one).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

import pytest
from django.db import connection

from experience_apis.clients.services import api_client_create
from incidents_site.telemetry import call_trace_recorder
from tests.experience.test_rest_v1 import token_for
from tests.reports import KATHERINE_REPORT

WRITES = ("INSERT", "UPDATE", "DELETE")
# SQLite has no data-modifying WITH: a new piece of work and the row holding it take two statements there, and so
# do an update and the row it calls for (an attempt's outcome and its line in the history, the incident recorded and
# its event on the timeline). One statement looks for the reporting client's webhooks when the incident is created
# (none here); the customer's confirmation e-mail is a piece of work queued with the report.
MAX_STATEMENTS = {"postgresql": 8, "sqlite": 13}
MAX_COMMITS = 2

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)
    commits: int = 0

    def __str__(self) -> str:
        return "\n".join(self.sql)


@contextmanager
def statements_counted() -> Iterator[Statements]:
    seen = Statements()
    commit = connection.commit

    def counted(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        if sql.startswith("BEGIN"):  # SQLite's explicit BEGIN; PostgreSQL's is implicit: a commit counts it
            return execute(sql, params, many, context)
        seen.sql.append(sql)
        if connection.get_autocommit() and sql.lstrip().upper().startswith(WRITES):
            seen.commits += 1
        return execute(sql, params, many, context)

    def counted_commit() -> None:
        seen.commits += 1
        commit()

    with connection.execute_wrapper(counted), mock.patch.object(connection, "commit", counted_commit):
        yield seen


def test_a_rest_report_takes_few_statements_and_commits(client, vendors, legacy_customers):
    vendors.salesforce_knows()
    vendors.servicenow_creates("INC0010009")
    vendors.slack_accepts()
    api_client, secret = api_client_create(name="partner-app")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, api_client.client_id, secret)}"
    assert client.post("/api/v1/incidents", KATHERINE_REPORT, content_type="application/json").status_code == 201

    # The notice is posted by a worker, not by the request (tests run Celery's tasks in place); the call trace is
    # handed to its writer thread (tests store it in place).
    handed = []
    with (
        statements_counted() as seen,
        mock.patch("kernel.work.work_enqueue"),
        mock.patch.object(call_trace_recorder().writer, "put", handed.append),
    ):
        response = client.post("/api/v1/incidents", KATHERINE_REPORT, content_type="application/json")

    assert response.status_code == 201
    assert response.json()["servicenow_number"] == "INC0010009"
    assert len(seen.sql) <= MAX_STATEMENTS[connection.vendor], str(seen)
    assert seen.commits <= MAX_COMMITS, str(seen)
    assert len(handed) == 1 and handed[0], "the report's call trace goes to the writer"
