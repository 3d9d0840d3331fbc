"""An update and the row it calls for, written together: one statement on PostgreSQL, two elsewhere."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kernel.db import update_then_insert
from kernel.models import Work, WorkAttempt

pytestmark = pytest.mark.django_db


def test_the_row_is_inserted_only_when_the_update_found_its_row():
    work = Work.objects.create(kind="servicenow_sync", subject="IH-0000000001", state="running", claim=3)

    with CaptureQueriesContext(connection) as queries:
        written = update_then_insert(
            Work.objects.filter(pk=work.pk, claim=3),
            {"state": "done"},
            WorkAttempt(work=work, number=1, outcome="done"),
            "work",
        )
    missed = update_then_insert(
        Work.objects.filter(pk=work.pk, claim=2),
        {"state": "failed"},
        WorkAttempt(work=work, number=2, outcome="failed"),
        "work",
    )

    work.refresh_from_db()
    assert (written, missed, work.state) == (True, False, "done")
    assert list(work.history.values_list("number", "outcome")) == [(1, "done")]
    assert len(queries) == (1 if connection.vendor == "postgresql" else 2)
