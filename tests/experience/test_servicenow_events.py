"""POST /api/events/servicenow/v1/incidents: ServiceNow's business rule pushes each change, as an `events` client."""

import pytest

from experience_apis.clients.services import api_client_create
from kernel.models import Work
from process_apis.models import IncidentEvent, ServiceNowEvent
from tests.experience.test_rest_v1 import token_for
from tests.reports import stored_report

pytestmark = pytest.mark.django_db

URL = "/api/events/servicenow/v1/incidents"
SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"


@pytest.fixture
def report():
    return stored_report(
        sync_state="created",
        servicenow_sys_id=SYS_ID,
        servicenow_number="INC0010042",
        servicenow_state=1,
        servicenow_state_label="New",
    )


def bearer(client, *scopes: str) -> str:
    made, secret = api_client_create(name="servicenow-prod", scopes=scopes)
    return f"Bearer {token_for(client, made.client_id, secret)}"


@pytest.fixture
def servicenow(client):
    """The Django test client as ServiceNow's outbound REST message: an API client of scope `events`."""
    client.defaults["HTTP_AUTHORIZATION"] = bearer(client, "events")
    return client


def body(report, mod_count: int = 3, **fields) -> dict:
    return {
        "sys_id": SYS_ID,
        "number": "INC0010042",
        "state": "2",
        "priority": "4",
        "sys_mod_count": str(mod_count),
        "sys_updated_on": "2026-12-01 10:00:05",
        "correlation_id": report.reference,
        "assigned_to": {"link": "https://acme.service-now.com/api/now/table/sys_user/46d4", "value": "46d4"},
        "close_code": "",
        "close_notes": "",
        "work_notes": "",
        **fields,
    }


def push(client, payload, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, payload, content_type="application/json")


def timeline(report) -> list[dict]:
    return [e.detail for e in IncidentEvent.objects.filter(request=report, kind="servicenow_changed")]


def test_a_pushed_change_is_accepted_with_202_and_applied(servicenow, report, django_capture_on_commit_callbacks):
    response = push(servicenow, body(report), django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert response.json() == {"status": "accepted"}
    report.refresh_from_db()
    assert (report.servicenow_state_label, report.servicenow_mod_count, report.servicenow_assigned_to) == (
        "In Progress",
        3,
        "46d4",
    )
    assert [(d["path"], d["changes"]["state"]) for d in timeline(report)] == [
        ("push", {"from": "New", "to": "In Progress"})
    ]


def test_the_answer_comes_before_the_change_is_applied(servicenow, report):
    response = servicenow.post(URL, body(report), content_type="application/json")

    assert response.status_code == 202
    report.refresh_from_db()
    assert report.servicenow_mod_count is None, "applied by the work after the commit, not in the request"
    assert Work.objects.get(kind="servicenow_event").state == "pending"


def test_a_duplicate_push_makes_one_timeline_entry(servicenow, report, django_capture_on_commit_callbacks):
    for _ in range(2):
        assert push(servicenow, body(report), django_capture_on_commit_callbacks).status_code == 202

    assert len(timeline(report)) == 1


def test_an_older_push_after_a_newer_one_is_ignored(servicenow, report, django_capture_on_commit_callbacks):
    push(servicenow, body(report, 5, state="6"), django_capture_on_commit_callbacks)
    push(servicenow, body(report, 4, state="2"), django_capture_on_commit_callbacks)

    report.refresh_from_db()
    assert (report.servicenow_state_label, report.servicenow_mod_count) == ("Resolved", 5)


def test_an_incident_that_is_not_ours_is_acknowledged(servicenow, report, django_capture_on_commit_callbacks):
    stranger = {**body(report), "sys_id": "f" * 32, "correlation_id": "SOMEONE-ELSE"}

    assert push(servicenow, stranger, django_capture_on_commit_callbacks).status_code == 202
    assert not IncidentEvent.objects.filter(kind="servicenow_changed").exists()


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"sys_id": None}, "sys_id", "This field may not be null."),
        ({"sys_mod_count": "five"}, None, "sys_mod_count must be a whole number"),
        ({"sys_id": "ABC"}, None, "sys_id must be 32 lowercase hexadecimal characters"),
        ({"state": "42"}, None, "unreadable state"),
        (
            {"assigned_to": ["x"]},
            "assigned_to",
            "Must be a string, or an object of strings (value, display_value, link).",
        ),
    ],
)
def test_a_bad_body_is_400_with_a_clear_error_and_nothing_is_stored(servicenow, report, change, field, says):
    payload = {**body(report), **change}
    if change.get("sys_id", "") is None:
        del payload["sys_id"]
        says = "This field is required."

    response = servicenow.post(URL, payload, content_type="application/json")

    assert response.status_code == 400
    answer = response.json()
    if field:
        assert answer["extra"]["fields"][field] == [says]
    else:
        assert says in answer["message"]
    assert not ServiceNowEvent.objects.exists()


def test_without_a_token_it_is_401(client, report):
    response = client.post(URL, body(report), content_type="application/json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_incidents_client_cannot_push_events(client, report):
    client.defaults["HTTP_AUTHORIZATION"] = bearer(client, "incidents")

    response = client.post(URL, body(report), content_type="application/json")

    assert response.status_code == 403
    assert not ServiceNowEvent.objects.exists()


def test_a_client_with_both_scopes_may_do_both(client, report, django_capture_on_commit_callbacks):
    client.defaults["HTTP_AUTHORIZATION"] = bearer(client, "events", "incidents")

    assert client.get("/api/v1/incidents").status_code == 200
    assert push(client, body(report), django_capture_on_commit_callbacks).status_code == 202


def test_pushes_past_the_events_rate_limit_are_429_with_retry_after_and_not_stored(
    servicenow, report, settings, django_capture_on_commit_callbacks
):
    # A day's window: a minute's could roll over between the pushes (the limit counts in fixed windows).
    settings.EVENTS_RATE_LIMIT = "2/d"

    answers = [push(servicenow, body(report, mod_count), django_capture_on_commit_callbacks) for mod_count in (3, 4, 5)]

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert int(answers[2]["Retry-After"]) > 0
    assert answers[1]["X-RateLimit-Remaining"] == "0"
    assert ServiceNowEvent.objects.count() == 2
