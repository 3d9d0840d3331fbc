"""Reading incident changes: a pushed record, and the poll's pages through ServiceNow's Link header."""

from datetime import UTC, datetime

import pytest
import responses
from responses import matchers

from system_apis.errors import SystemProtocolError, SystemUnavailable
from system_apis.servicenow.client import CHANGE_FIELDS, ServiceNowClient, UnreadableRecord, incident_change
from system_apis.servicenow.types import IncidentChange, IncidentState

BASE = "https://acme.service-now.com"
INCIDENTS = f"{BASE}/api/now/table/incident"
SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"


@pytest.fixture
def client() -> ServiceNowClient:
    return ServiceNowClient(base_url=BASE, username="incident.hub", password="pw", timeout=(1.5, 4.0))


def pair(value: str, shown: str | None = None) -> dict:
    return {"value": value, "display_value": value if shown is None else shown}


def polled(sys_id: str = SYS_ID, mod_count: str = "3", updated: str = "2026-12-01 10:00:05") -> dict:
    """A record as the poll asks for it: sysparm_display_value=all, reference links excluded."""
    return {
        "sys_id": pair(sys_id),
        "number": pair("INC0010042"),
        "state": pair("2", "In Progress"),
        "priority": pair("3", "3 - Moderate"),
        "sys_mod_count": pair(mod_count),
        "sys_updated_on": pair(updated, "01/12/2026 11:00:05"),
        "sys_updated_by": pair("beth.anglin"),
        "correlation_id": pair("IH-7K2M9QX4TB"),
        "close_code": pair(""),
        "close_notes": pair(""),
        "assigned_to": pair("46d44a23a9fe19810012d100cca80666", "Beth Anglin"),
    }


def test_a_pushed_record_of_plain_strings_reads_as_a_change():
    change = incident_change(
        {
            "sys_id": SYS_ID,
            "number": "INC0010042",
            "state": "6",
            "priority": "2",
            "sys_mod_count": "7",
            "sys_updated_on": "2026-12-01 10:00:05",
            "correlation_id": "IH-7K2M9QX4TB",
            "close_code": "Solved (Permanently)",
            "close_notes": "Parcel re-sent",
            "assigned_to": {"link": f"{BASE}/api/now/table/sys_user/46d4", "value": "46d44a23a9fe19810012d100cca80666"},
            "work_notes": "called the courier",
        }
    )

    assert change == IncidentChange(
        sys_id=SYS_ID,
        mod_count=7,
        number="INC0010042",
        state=IncidentState.RESOLVED,
        priority=2,
        updated_at=datetime(2026, 12, 1, 10, 0, 5, tzinfo=UTC),
        correlation_id="IH-7K2M9QX4TB",
        close_code="Solved (Permanently)",
        close_notes="Parcel re-sent",
        assigned_to="46d44a23a9fe19810012d100cca80666",
        work_notes="called the courier",
    )


def test_a_display_value_names_the_person():
    change = incident_change({"sys_id": SYS_ID, "sys_mod_count": "1", "assigned_to": pair("46d4", "Beth Anglin")})

    assert change.assigned_to == "Beth Anglin"
    assert (change.state, change.priority, change.updated_at) == (None, None, None)


@pytest.mark.parametrize(
    ("record", "says"),
    [
        ({"sys_mod_count": "1"}, "sys_id"),
        ({"sys_id": "not-a-sys-id", "sys_mod_count": "1"}, "sys_id"),
        ({"sys_id": SYS_ID}, "sys_mod_count"),
        ({"sys_id": SYS_ID, "sys_mod_count": "two"}, "sys_mod_count"),
        ({"sys_id": SYS_ID, "sys_mod_count": "2", "state": "99"}, "state"),
        ({"sys_id": SYS_ID, "sys_mod_count": "2", "sys_updated_on": "yesterday"}, "sys_updated_on"),
        (["not", "an", "object"], "object"),
    ],
)
def test_an_unreadable_record_says_what_is_wrong(record, says):
    with pytest.raises(UnreadableRecord, match=says):
        incident_change(record)


@responses.activate
def test_changed_incidents_asks_for_our_incidents_since_the_time_and_follows_the_link_header(client):
    second_page = f"{INCIDENTS}?sysparm_offset=2&sysparm_limit=2&sysparm_query=x"
    responses.get(
        INCIDENTS,
        match=[
            matchers.query_param_matcher(
                {
                    "sysparm_query": "correlation_idSTARTSWITHIH-^sys_updated_on>=2026-12-01 09:59:55"
                    "^ORDERBYsys_updated_on",
                    "sysparm_fields": ",".join(CHANGE_FIELDS),
                    "sysparm_display_value": "all",
                    "sysparm_exclude_reference_link": "true",
                    "sysparm_limit": "2",
                }
            )
        ],
        json={"result": [polled(mod_count="3"), polled(sys_id="b" * 32, mod_count="1")]},
        headers={"Link": f'<{INCIDENTS}?sysparm_offset=0>;rel="first",<{second_page}>;rel="next"'},
    )
    responses.get(second_page, json={"result": [polled(sys_id="c" * 32, updated="2026-12-01 10:02:00")]})

    pages = list(
        client.changed_incidents(
            correlation_prefix="IH-", since=datetime(2026, 12, 1, 9, 59, 55, tzinfo=UTC), page_size=2
        )
    )

    assert [[change.sys_id for change in page] for page in pages] == [[SYS_ID, "b" * 32], ["c" * 32]]
    first = pages[0][0]
    assert (first.state, first.assigned_to, first.updated_by, first.mod_count) == (
        IncidentState.IN_PROGRESS,
        "Beth Anglin",
        "beth.anglin",
        3,
    )
    assert responses.calls[1].request.url == second_page, "the next page exactly as ServiceNow named it"


@responses.activate
def test_nothing_new_is_one_get(client):
    responses.get(INCIDENTS, json={"result": []})

    pages = list(client.changed_incidents(correlation_prefix="IH-", since=datetime(2026, 12, 1, tzinfo=UTC)))

    assert pages == [[]]
    assert len(responses.calls) == 1


@responses.activate
def test_a_next_page_on_another_host_is_not_followed(client):
    responses.get(INCIDENTS, json={"result": []}, headers={"Link": '<https://evil.test/steal>;rel="next"'})

    with pytest.raises(SystemProtocolError, match="another host"):
        list(client.changed_incidents(correlation_prefix="IH-", since=datetime(2026, 12, 1, tzinfo=UTC)))
    assert len(responses.calls) == 1


@responses.activate
def test_a_polled_record_that_cannot_be_read_fails_the_page(client):
    responses.get(INCIDENTS, json={"result": [polled(mod_count="")]})

    with pytest.raises(SystemProtocolError, match="sys_mod_count"):
        list(client.changed_incidents(correlation_prefix="IH-", since=datetime(2026, 12, 1, tzinfo=UTC)))


@responses.activate
def test_servicenow_down_is_a_typed_error(client):
    body = {"error": {"message": "Service Unavailable", "detail": "down"}, "status": "failure"}
    responses.get(INCIDENTS, json=body, status=503)

    with pytest.raises(SystemUnavailable):
        list(client.changed_incidents(correlation_prefix="IH-", since=datetime(2026, 12, 1, tzinfo=UTC)))


def test_a_field_left_out_is_none_and_a_field_cleared_is_empty():
    change = incident_change({"sys_id": SYS_ID, "sys_mod_count": "4", "assigned_to": ""})

    assert (change.assigned_to, change.close_code, change.close_notes) == ("", None, None)


@responses.activate
def test_one_incident_is_read_as_its_latest_change_with_people_by_name(client):
    responses.get(
        f"{INCIDENTS}/{SYS_ID}",
        json={"result": polled(mod_count="5")},
        match=[
            matchers.query_param_matcher(
                {
                    "sysparm_fields": ",".join(CHANGE_FIELDS),
                    "sysparm_display_value": "all",
                    "sysparm_exclude_reference_link": "true",
                }
            )
        ],
    )

    change = client.incident_as_change(SYS_ID)

    assert (change.sys_id, change.mod_count, change.state, change.assigned_to) == (
        SYS_ID,
        5,
        IncidentState.IN_PROGRESS,
        "Beth Anglin",
    )


@responses.activate
def test_an_incident_without_its_mod_count_is_a_protocol_error(client):
    record = polled()
    del record["sys_mod_count"]
    responses.get(f"{INCIDENTS}/{SYS_ID}", json={"result": record})

    with pytest.raises(SystemProtocolError, match="sys_mod_count"):
        client.incident_as_change(SYS_ID)
