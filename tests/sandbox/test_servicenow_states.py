"""The ServiceNow stand-in moves incidents through their states, by the Table API and by its page."""

import json

import pytest
from django.core.management import call_command

from sandbox.models import Fault
from sandbox.servicenow import views as servicenow
from sandbox.servicenow.models import Incident
from tests.sandbox.test_servicenow_sandbox import DATETIME, TABLE, auth, create, report

pytestmark = pytest.mark.django_db

MANDATORY_RESOLUTION = {
    "error": {
        "message": "Operation Failed",
        "detail": "Data Policy Exception: The following fields are mandatory: Resolution code, Resolution notes",
    },
    "status": "failure",
}


@pytest.fixture(autouse=True)
def sandbox_urls(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SERVICENOW_USERNAME = "incident.hub"
    settings.SANDBOX_SERVICENOW_PASSWORD = "sandbox-pass"


@pytest.fixture
def clock(monkeypatch):
    """The instance's clock, set by the test: each change is stamped with the time it names."""
    now = {"value": "2026-12-03 10:00:00"}
    monkeypatch.setattr(servicenow, "_now", lambda: now["value"])
    return now


def patch(client, sys_id: str, body: dict, method: str = "patch"):
    call = getattr(client, method)
    return call(
        f"{TABLE}/{sys_id}?sysparm_exclude_reference_link=true",
        json.dumps(body),
        content_type="application/json",
        headers=auth(),
    )


def test_each_move_bumps_sys_mod_count_by_one_and_stamps_the_time_and_user(client, clock):
    created = create(client, report()).json()["result"]
    assert (created["sys_mod_count"], created["sys_updated_on"]) == ("0", "2026-12-03 10:00:00")

    moves = [
        ("2026-12-03 10:05:00", {"assigned_to": "46d44a23a9fe19810012d100cca80666"}),
        ("2026-12-03 10:06:00", {"state": "2"}),
        ("2026-12-03 10:07:30", {"state": "3", "hold_reason": "4"}),
        ("2026-12-03 11:00:00", {"state": "2"}),
        ("2026-12-03 12:00:00", {"state": "6", "close_code": "Solution provided", "close_notes": "Re-sent."}),
        ("2026-12-04 12:00:00", {"state": "7"}),
    ]
    records = []
    for index, (at, body) in enumerate(moves):
        clock["value"] = at
        response = patch(client, created["sys_id"], body, method="put" if index % 2 else "patch")
        assert response.status_code == 200, response.json()
        records.append(response.json()["result"])

    assert [r["sys_mod_count"] for r in records] == ["1", "2", "3", "4", "5", "6"]
    assert [r["sys_updated_on"] for r in records] == [at for at, _ in moves]
    assert [r["state"] for r in records] == ["1", "2", "3", "2", "6", "7"]
    assert all(r["sys_updated_by"] == "incident.hub" for r in records)
    assert records[0]["assigned_to"] == "46d44a23a9fe19810012d100cca80666"
    assert (records[2]["hold_reason"], records[3]["hold_reason"]) == ("4", "")
    assert records[4]["resolved_at"] == "2026-12-03 12:00:00"
    assert (records[5]["closed_at"], records[5]["resolved_at"], records[5]["active"]) == (
        "2026-12-04 12:00:00",
        "2026-12-03 12:00:00",
        "false",
    )
    row = Incident.objects.get()
    assert (row.sys_mod_count, row.sys_updated_on) == (6, "2026-12-04 12:00:00")


@pytest.mark.parametrize(
    "body",
    [
        {"state": "6"},
        {"state": "6", "close_code": "Solution provided"},
        {"state": "6", "close_notes": "Done."},
        {"state": "6", "close_code": "  ", "close_notes": "Done."},
        {"state": "7"},
    ],
    ids=["neither", "no-notes", "no-code", "blank-code", "close-unresolved"],
)
def test_resolving_or_closing_without_resolution_code_and_notes_is_refused_and_changes_nothing(client, body):
    created = create(client, report()).json()["result"]

    response = patch(client, created["sys_id"], body)

    assert response.status_code == 403
    assert response.json()["status"] == "failure"
    assert response.json()["error"]["message"] == "Operation Failed"
    assert "mandatory" in response.json()["error"]["detail"]
    row = Incident.objects.get()
    assert (row.fields["state"], row.fields["sys_mod_count"], row.sys_mod_count) == ("1", "0", 0)
    assert row.fields["resolved_at"] == ""


def test_resolving_without_anything_names_both_mandatory_fields(client):
    created = create(client, report()).json()["result"]

    response = patch(client, created["sys_id"], {"state": "6"})

    assert response.json() == MANDATORY_RESOLUTION


def test_on_hold_without_a_reason_is_refused(client):
    created = create(client, report()).json()["result"]

    response = patch(client, created["sys_id"], {"state": "3"})

    assert response.status_code == 403
    assert response.json()["error"]["detail"] == (
        "Data Policy Exception: The following fields are mandatory: On hold reason"
    )
    assert Incident.objects.get().fields["state"] == "1"


def test_creating_an_incident_already_resolved_needs_the_resolution_too(client):
    refused = create(client, report(state="6"))
    accepted = create(client, report(state="6", close_code="Duplicate", close_notes="Same as INC0010001."))

    assert refused.status_code == 403
    assert accepted.status_code == 201
    assert DATETIME.fullmatch(accepted.json()["result"]["resolved_at"])
    assert Incident.objects.count() == 1


def test_reopening_a_resolved_incident_clears_the_resolution_stamps(client, clock):
    created = create(client, report()).json()["result"]
    patch(client, created["sys_id"], {"state": "6", "close_code": "User error", "close_notes": "Wrong address."})

    clock["value"] = "2026-12-03 10:30:00"
    reopened = patch(client, created["sys_id"], {"state": "2"}).json()["result"]

    assert (reopened["state"], reopened["resolved_at"], reopened["resolved_by"]) == ("2", "", "")
    assert reopened["sys_mod_count"] == "2"


# --- the sandbox page's buttons ---------------------------------------------------------------------


def move(client, sys_id: str, **form: str):
    return client.post(f"/_sandbox/servicenow/incidents/{sys_id}", form)


def test_the_page_moves_an_incident_through_assign_hold_resolve_and_close(client, clock):
    created = create(client, report()).json()["result"]
    sys_id = created["sys_id"]

    steps = [
        move(client, sys_id, action="assign", assigned_to="beth.anglin"),
        move(client, sys_id, action="in_progress"),
        move(client, sys_id, action="on_hold", hold_reason="1"),
        move(client, sys_id, action="resolve", close_code="Solution provided", close_notes="Parcel re-sent."),
        move(client, sys_id, action="close"),
    ]

    assert [step.status_code for step in steps] == [302] * 5
    assert steps[0]["Location"] == f"/?moved={created['number']}#servicenow"
    fields = Incident.objects.get().fields
    assert fields["assigned_to"] == servicenow.user_sys_id("beth.anglin")
    assert (fields["state"], fields["sys_mod_count"], fields["sys_updated_by"]) == ("7", "5", "admin")
    assert (fields["close_code"], fields["close_notes"]) == ("Solution provided", "Parcel re-sent.")
    page = client.get("/").content.decode()
    assert "beth.anglin" in page and "Closed" in page


def test_the_page_refuses_a_resolve_without_notes_and_says_why(client):
    created = create(client, report()).json()["result"]

    response = move(client, created["sys_id"], action="resolve", close_code="Solution provided", close_notes="")

    assert response.status_code == 403
    assert "The following fields are mandatory: Resolution notes" in response.content.decode()
    assert Incident.objects.get().fields["state"] == "1"


@pytest.mark.parametrize(
    "form,status",
    [
        ({"action": "assign", "assigned_to": "mallory"}, 400),
        ({"action": "explode"}, 400),
    ],
)
def test_the_page_refuses_unknown_users_and_actions(client, form, status):
    created = create(client, report()).json()["result"]

    response = move(client, created["sys_id"], **form)

    assert response.status_code == status
    assert Incident.objects.get().fields["sys_mod_count"] == "0"


def test_the_page_answers_404_for_an_unknown_incident(client):
    assert move(client, "0" * 32, action="in_progress").status_code == 404


def test_the_event_knobs_are_set_from_the_page_and_the_command(client):
    page = client.post("/_sandbox/events/faults", {"drop_events_next": "2", "duplicate_events_next": ""})
    call_command("sandbox_fault", "servicenow", "--duplicate-events-next", "3", "--reorder-events-next", "1")

    assert page.status_code == 302
    fault = Fault.for_system("servicenow")
    assert (fault.drop_events_next, fault.duplicate_events_next, fault.reorder_events_next) == (2, 3, 1)


def test_a_bad_event_knob_from_the_page_is_refused(client):
    response = client.post("/_sandbox/events/faults", {"drop_events_next": "-1"})

    assert response.status_code == 400
    assert Fault.for_system("servicenow").drop_events_next == 0
