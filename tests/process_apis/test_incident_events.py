"""Events in from ServiceNow: each change applied once, in order of sys_mod_count, whether pushed or polled."""

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection, connections

from kernel.models import Work
from kernel.work import work_run
from process_apis.incident_events import services
from process_apis.incident_events.services import (
    PULL,
    PUSH,
    SERVICENOW_EVENT,
    InvalidEventError,
    incident_change_apply,
    incident_event_receive,
    incident_events_poll,
)
from process_apis.models import IncidentEvent, IncidentRequest, ServiceNowEvent, ServiceNowPoll
from process_apis.tasks import poll_servicenow
from system_apis.servicenow.client import incident_change
from tests.reports import stored_report
from tests.vendors import SN_INCIDENTS

pytestmark = pytest.mark.django_db

SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"
OTHER_SYS_ID = "f" * 32


@pytest.fixture
def report():
    return stored_report(
        sync_state="created",
        servicenow_sys_id=SYS_ID,
        servicenow_number="INC0010042",
        servicenow_state=1,
        servicenow_state_label="New",
        servicenow_priority=4,
    )


def record(report, mod_count: int, state: str = "2", updated: str = "2026-12-01 10:00:05", **fields: str) -> dict:
    """The incident as a business rule pushes it: every value a string."""
    return {
        "sys_id": SYS_ID,
        "number": "INC0010042",
        "state": state,
        "priority": "4",
        "sys_mod_count": str(mod_count),
        "sys_updated_on": updated,
        "sys_updated_by": "beth.anglin",
        "correlation_id": report.reference,
        **fields,
    }


def push(django_capture_on_commit_callbacks, body: dict) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        incident_event_receive(record=body, trace_id="sn-push-1")


def changes(report) -> list[dict]:
    return [event.detail for event in IncidentEvent.objects.filter(request=report, kind="servicenow_changed")]


def test_a_pushed_change_is_stored_as_work_and_applied_with_its_timeline_entry(
    report, django_capture_on_commit_callbacks
):
    push(
        django_capture_on_commit_callbacks,
        record(report, 3, assigned_to={"link": "https://x/api/now/table/sys_user/1", "value": "46d4"}),
    )

    report.refresh_from_db()
    assert (report.servicenow_state, report.servicenow_state_label) == (2, "In Progress")
    assert report.servicenow_mod_count == 3
    assert report.servicenow_assigned_to == "46d4"
    assert report.servicenow_updated_at == datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)
    assert changes(report) == [
        {
            "changes": {"state": {"from": "New", "to": "In Progress"}, "assigned_to": {"from": "", "to": "46d4"}},
            "by": "beth.anglin",
            "at": "2026-12-01T10:00:05+00:00",
            "path": "push",
            "sys_mod_count": 3,
        }
    ]
    work = Work.objects.get(kind=SERVICENOW_EVENT)
    assert (work.state, work.subject, work.trace_id) == ("done", "INC0010042 #3", "sn-push-1")
    assert ServiceNowEvent.objects.get(work=work).payload["sys_mod_count"] == "3"


def test_a_resolution_keeps_close_code_notes_and_priority(report, django_capture_on_commit_callbacks):
    push(
        django_capture_on_commit_callbacks,
        record(report, 9, state="6", priority="3", close_code="Solved (Permanently)", close_notes="Parcel re-sent"),
    )

    report.refresh_from_db()
    assert (report.servicenow_state_label, report.servicenow_priority) == ("Resolved", 3)
    assert (report.servicenow_close_code, report.servicenow_close_notes) == ("Solved (Permanently)", "Parcel re-sent")
    assert changes(report)[0]["changes"]["priority"] == {"from": "P4 Low", "to": "P3 Moderate"}


def test_the_same_change_pushed_twice_is_applied_once(report, django_capture_on_commit_callbacks):
    push(django_capture_on_commit_callbacks, record(report, 3))
    push(django_capture_on_commit_callbacks, record(report, 3))

    assert len(changes(report)) == 1
    assert list(Work.objects.filter(kind=SERVICENOW_EVENT).values_list("state", flat=True)) == ["done", "done"]


def test_an_older_change_arriving_late_is_ignored(report, django_capture_on_commit_callbacks):
    push(django_capture_on_commit_callbacks, record(report, 5, state="6", updated="2026-12-01 10:05:00"))
    push(django_capture_on_commit_callbacks, record(report, 4, state="2", updated="2026-12-01 10:04:00"))

    report.refresh_from_db()
    assert (report.servicenow_state_label, report.servicenow_mod_count) == ("Resolved", 5)
    assert [detail["sys_mod_count"] for detail in changes(report)] == [5]


def test_a_change_that_overtakes_the_reports_own_create_waits_for_it(django_capture_on_commit_callbacks):
    report = stored_report()

    push(django_capture_on_commit_callbacks, record(report, 1))

    work = Work.objects.get(kind=SERVICENOW_EVENT)
    assert (work.state, work.last_error) == (
        "retrying",
        f"{report.reference}: its ServiceNow incident is not recorded yet",
    )
    report.refresh_from_db()
    assert report.servicenow_state is None
    # The report's attempt records the incident; the change's retry then applies.
    IncidentRequest.objects.filter(pk=report.pk).update(
        sync_state="created", servicenow_sys_id=SYS_ID, servicenow_state=1, servicenow_state_label="New"
    )
    Work.objects.filter(pk=work.pk).update(next_attempt_at=None)
    work_run(work_id=work.pk)
    report.refresh_from_db()
    assert (report.servicenow_state_label, report.servicenow_mod_count) == ("In Progress", 1)


def test_the_poll_leaves_a_report_not_yet_recorded_to_its_own_attempt():
    report = stored_report()

    assert incident_change_apply(change=incident_change(record(report, 1)), path=PULL) is False

    report.refresh_from_db()
    assert (report.servicenow_state, report.servicenow_mod_count) == (None, None)


def test_an_incident_that_is_not_ours_is_acknowledged_ignored_and_logged_once(
    report, django_capture_on_commit_callbacks, caplog
):
    stranger = {**record(report, 2), "sys_id": OTHER_SYS_ID, "correlation_id": "IH-NOTOURS0001", "number": "INC9"}

    with caplog.at_level(logging.INFO, logger="process_apis.incident_events"):
        for _ in range(3):
            push(django_capture_on_commit_callbacks, stranger)

    assert [r.getMessage() for r in caplog.records if "not one of our reports" in r.getMessage()] == [
        f"ServiceNow incident INC9 ({OTHER_SYS_ID}, correlation_id 'IH-NOTOURS0001') is not one of our reports: ignored"
    ]
    assert not IncidentEvent.objects.filter(kind="servicenow_changed").exists()
    assert set(Work.objects.filter(kind=SERVICENOW_EVENT).values_list("state", flat=True)) == {"done"}


def test_an_incident_claiming_our_reference_under_another_sys_id_is_not_applied(
    report, django_capture_on_commit_callbacks
):
    push(django_capture_on_commit_callbacks, {**record(report, 7, state="8"), "sys_id": OTHER_SYS_ID})

    report.refresh_from_db()
    assert (report.servicenow_state, report.servicenow_mod_count) == (1, None)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"sys_mod_count": "1"}, "sys_id"),
        ({"sys_id": SYS_ID, "sys_mod_count": "x"}, "sys_mod_count"),
        ({"sys_id": SYS_ID}, "sys_mod_count"),
    ],
)
def test_a_record_that_cannot_be_read_is_refused_and_nothing_is_stored(body, says):
    with pytest.raises(InvalidEventError, match=says):
        incident_event_receive(record=body)

    assert not Work.objects.filter(kind=SERVICENOW_EVENT).exists()
    assert not ServiceNowEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_applying_the_same_change_at_once_apply_it_once(report, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks between connections: PostgreSQL (the services tier of .ci/run)")
    change = incident_change(record(report, 3))
    first_inside, release = threading.Event(), threading.Event()
    read_changes = services._changes

    def first_waits_holding_the_report(request, change):
        if threading.current_thread().name == "first":
            first_inside.set()
            release.wait(5)
        return read_changes(request, change)

    monkeypatch.setattr(services, "_changes", first_waits_holding_the_report)
    applied = {}

    def worker() -> None:
        try:
            applied[threading.current_thread().name] = incident_change_apply(change=change, path=PUSH)
        finally:
            connections.close_all()

    first = threading.Thread(target=worker, name="first")
    second = threading.Thread(target=worker, name="second")
    first.start()
    assert first_inside.wait(5)
    second.start()
    time.sleep(0.5)
    assert second.is_alive(), "the second waits for the first's lock on the report"
    release.set()
    first.join(5)
    second.join(5)

    assert applied == {"first": True, "second": False}
    assert len(changes(report)) == 1


# --- the poll ---------------------------------------------------------------------------------


def polled(report, mod_count: int, updated: str, state: str = "2") -> dict:
    """A record as the poll reads it: sysparm_display_value=all."""
    plain = record(report, mod_count, state=state, updated=updated)
    return {name: {"value": value, "display_value": value} for name, value in plain.items()}


@pytest.fixture
def servicenow(settings):
    settings.SERVICENOW_BASE_URL = "https://acme.service-now.test"
    settings.SERVICENOW_POLL_SECONDS = 60
    settings.SERVICENOW_POLL_OVERLAP = 5
    with responses.RequestsMock() as mock:
        yield mock


def watermark() -> datetime:
    return ServiceNowPoll.objects.get().watermark


def query_of(call) -> str:
    return parse_qs(urlsplit(call.request.url).query)["sysparm_query"][0]


def test_the_poll_applies_every_page_the_link_header_names_and_advances_the_watermark(report, servicenow):
    ServiceNowPoll.objects.create(name="incidents", watermark=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    second = stored_report(sync_state="created", servicenow_sys_id=OTHER_SYS_ID, servicenow_number="INC0010043")
    page_two = f"{SN_INCIDENTS}?sysparm_offset=1&sysparm_limit=1"
    servicenow.get(
        SN_INCIDENTS,
        json={"result": [polled(report, 3, "2026-12-01 10:00:05")]},
        headers={"Link": f'<{page_two}>;rel="next"'},
    )
    other = {**polled(second, 2, "2026-12-01 10:07:00", state="6"), "sys_id": {"value": OTHER_SYS_ID}}
    servicenow.get(page_two, json={"result": [other]})

    assert poll_servicenow() == 2

    assert query_of(servicenow.calls[0]) == (
        "correlation_idSTARTSWITHIH-^sys_updated_on>=2026-12-01 08:59:55^ORDERBYsys_updated_on"
    )
    report.refresh_from_db()
    second.refresh_from_db()
    assert (report.servicenow_state_label, second.servicenow_state_label) == ("In Progress", "Resolved")
    assert changes(report)[0]["path"] == "pull"
    assert watermark() == datetime(2026, 12, 1, 10, 7, tzinfo=UTC)


def test_the_overlap_sees_a_record_again_without_applying_it_twice(report, servicenow):
    ServiceNowPoll.objects.create(name="incidents", watermark=datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC))
    servicenow.get(SN_INCIDENTS, json={"result": [polled(report, 3, "2026-12-01 10:00:05")]})

    assert incident_events_poll() == 1
    assert incident_events_poll() == 0

    assert len(servicenow.calls) == 2
    assert query_of(servicenow.calls[1]).startswith("correlation_idSTARTSWITHIH-^sys_updated_on>=2026-12-01 10:00:00^")
    assert len(changes(report)) == 1
    assert watermark() == datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC)


def test_a_push_then_the_same_change_by_the_poll_is_one_change(report, servicenow, django_capture_on_commit_callbacks):
    push(django_capture_on_commit_callbacks, record(report, 3))
    servicenow.get(SN_INCIDENTS, json={"result": [polled(report, 3, "2026-12-01 10:00:05")]})

    assert incident_events_poll() == 0

    assert [detail["path"] for detail in changes(report)] == ["push"]


def test_a_dropped_push_is_caught_up_by_the_poll(report, servicenow):
    servicenow.get(SN_INCIDENTS, json={"result": [polled(report, 4, "2026-12-01 10:00:05", state="3")]})

    incident_events_poll()

    report.refresh_from_db()
    assert report.servicenow_state_label == "On Hold"


def test_the_first_poll_starts_at_the_oldest_report(report, servicenow):
    servicenow.get(SN_INCIDENTS, json={"result": []})

    incident_events_poll()

    since = (report.created_at - timedelta(seconds=5)).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert f"sys_updated_on>={since}^" in query_of(servicenow.calls[0])
    assert not ServiceNowPoll.objects.exists(), "nothing read, nothing to move"


def test_servicenow_down_ends_the_poll_quietly_logged_and_keeps_the_watermark(report, servicenow, caplog):
    ServiceNowPoll.objects.create(name="incidents", watermark=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    body = {"error": {"message": "Service Unavailable", "detail": "down"}, "status": "failure"}
    servicenow.get(SN_INCIDENTS, json=body, status=503)

    with caplog.at_level(logging.WARNING, logger="process_apis.incident_events"):
        assert poll_servicenow() == 0

    assert any("the next poll tries again" in r.getMessage() for r in caplog.records)
    assert watermark() == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_a_poll_turned_off_asks_nothing(report, servicenow, settings):
    settings.SERVICENOW_POLL_SECONDS = 0

    assert poll_servicenow() == 0

    assert len(servicenow.calls) == 0


def test_a_change_pushed_as_json_is_stored_as_sent(report, django_capture_on_commit_callbacks):
    body = json.loads(json.dumps(record(report, 3, work_notes="called the courier")))

    push(django_capture_on_commit_callbacks, body)

    assert ServiceNowEvent.objects.get().payload == body
    assert changes(report)[0]["work_notes"] == "called the courier"


def test_applied_pushes_are_purged_after_their_retention_with_their_work_and_failed_ones_stay(
    report, django_capture_on_commit_callbacks
):
    push(django_capture_on_commit_callbacks, record(report, 3))
    push(django_capture_on_commit_callbacks, record(report, 4))
    applied, failed = ServiceNowEvent.objects.order_by("id")
    Work.objects.filter(pk=failed.work_id).update(state=Work.State.FAILED)
    ServiceNowEvent.objects.update(received_at=datetime.now(UTC) - timedelta(days=8))
    push(django_capture_on_commit_callbacks, record(report, 5))
    fresh = ServiceNowEvent.objects.latest("id")

    assert services.incident_events_purge() == 1

    assert list(ServiceNowEvent.objects.order_by("id")) == [failed, fresh]
    assert not Work.objects.filter(pk=applied.work_id).exists()


def test_the_poll_keeps_reading_a_change_whose_report_awaits_its_own_create_until_it_takes_it(report, servicenow):
    ServiceNowPoll.objects.create(name="incidents", watermark=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    waiting = stored_report()  # its create was made in ServiceNow, the answer not recorded yet
    early = {**polled(waiting, 1, "2026-12-01 10:00:05"), "sys_id": {"value": OTHER_SYS_ID, "display_value": ""}}
    servicenow.get(SN_INCIDENTS, json={"result": [early, polled(report, 3, "2026-12-01 10:07:00")]})

    assert incident_events_poll() == 1
    assert watermark() == datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC), "held at the change not taken"

    IncidentRequest.objects.filter(pk=waiting.pk).update(
        sync_state="created", servicenow_sys_id=OTHER_SYS_ID, servicenow_mod_count=0, servicenow_state=1
    )
    assert incident_events_poll() == 1
    waiting.refresh_from_db()
    assert (waiting.servicenow_state, waiting.servicenow_mod_count) == (2, 1)
    assert watermark() == datetime(2026, 12, 1, 10, 7, tzinfo=UTC)
