import base64
import json
import re
import time

import pytest

from sandbox.faults import update_faults
from sandbox.servicenow.models import Incident

pytestmark = pytest.mark.django_db

TABLE = "/servicenow/api/now/table/incident"
HEX32 = re.compile(r"[0-9a-f]{32}")
DATETIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
NOT_FOUND = {
    "error": {"message": "No Record found", "detail": "Record doesn't exist or ACL restricts the record retrieval"},
    "status": "failure",
}
UNAUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}


@pytest.fixture(autouse=True)
def sandbox_urls(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SERVICENOW_USERNAME = USERNAME
    settings.SANDBOX_SERVICENOW_PASSWORD = PASSWORD


USERNAME, PASSWORD = "incident.hub", "sandbox-pass"


def auth(username: str = USERNAME, password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def create(client, body: dict, query: str = "") -> object:
    return client.post(f"{TABLE}{query}", json.dumps(body), content_type="application/json", headers=auth())


def report(correlation_id: str = "IH-7K2M9QX4TB", **fields: str) -> dict:
    return {
        "short_description": "Order 1042 never arrived",
        "description": "Paid on 3 November.",
        "impact": "1",
        "urgency": "2",
        "correlation_id": correlation_id,
        "category": "inquiry",
        "contact_type": "web",
        **fields,
    }


# --- auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth(password="wrong"),
        auth(username="admin"),
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic !!"},
    ],
    ids=["none", "wrong-password", "wrong-user", "bearer", "garbled"],
)
def test_requests_without_the_right_basic_auth_get_servicenows_401_and_change_nothing(client, headers):
    response = client.post(TABLE, json.dumps(report()), content_type="application/json", headers=headers)

    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response["WWW-Authenticate"] == 'Basic realm="Service-now"'
    assert Incident.objects.count() == 0


# --- create ----------------------------------------------------------------------------------------


def test_create_answers_201_with_location_and_every_value_a_string(client):
    response = create(client, report())

    assert response.status_code == 201
    record = response.json()["result"]
    row = Incident.objects.get()
    assert response["Location"] == f"http://testserver{TABLE}/{row.sys_id}"
    assert HEX32.fullmatch(record["sys_id"]) and record["sys_id"] == row.sys_id
    assert record["number"] == row.number == f"INC{10000 + row.pk:07d}"
    assert (record["state"], record["impact"], record["urgency"], record["priority"]) == ("1", "1", "2", "2")
    assert (record["short_description"], record["correlation_id"]) == ("Order 1042 never arrived", "IH-7K2M9QX4TB")
    assert DATETIME.fullmatch(record["opened_at"])
    assert record["sys_created_on"] == record["sys_updated_on"] == record["opened_at"]
    assert record["sys_created_by"] == "incident.hub"
    assert record["opened_by"] == {
        "link": f"http://testserver/servicenow/api/now/table/sys_user/{record['opened_by']['value']}",
        "value": record["opened_by"]["value"],
    }
    assert record["caller_id"] == ""
    assert all(isinstance(value, str) for name, value in record.items() if name not in ("opened_by", "sys_domain"))
    assert row.correlation_id == "IH-7K2M9QX4TB"


def test_create_turns_json_numbers_and_booleans_into_strings(client):
    response = create(client, {**report(), "impact": 3, "urgency": 3, "knowledge": True, "notify": None})

    record = response.json()["result"]
    assert (record["impact"], record["urgency"], record["priority"]) == ("3", "3", "5")
    assert (record["knowledge"], record["notify"]) == ("true", "")


def test_create_with_excluded_reference_links_gives_bare_sys_ids(client):
    response = create(client, report(), "?sysparm_exclude_reference_link=true")

    record = response.json()["result"]
    assert HEX32.fullmatch(record["opened_by"])
    assert record["sys_domain"] == "global"


def test_numbers_follow_the_row_ids(client):
    first = create(client, report("IH-A")).json()["result"]["number"]
    second = create(client, report("IH-B")).json()["result"]["number"]

    assert int(second.removeprefix("INC")) == int(first.removeprefix("INC")) + 1
    assert re.fullmatch(r"INC\d{7}", first)


def test_create_ignores_fields_the_instance_sets_itself(client):
    response = create(client, {**report(), "number": "INC9999999", "priority": "1", "sys_id": "f" * 32})

    record = response.json()["result"]
    assert record["number"] != "INC9999999"
    assert record["priority"] == "2"
    assert record["sys_id"] != "f" * 32


def test_create_with_a_body_that_is_not_json_is_400_in_servicenows_shape(client):
    response = client.post(TABLE, "{not json", content_type="application/json", headers=auth())

    assert response.status_code == 400
    assert response.json() == {
        "error": {"message": "Exception while reading request", "detail": "The payload is not valid JSON."},
        "status": "failure",
    }
    assert Incident.objects.count() == 0


def test_an_unknown_table_is_refused(client):
    response = client.get("/servicenow/api/now/table/problemz", headers=auth())

    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Invalid table problemz", "detail": None}, "status": "failure"}


def test_the_versioned_table_api_path_works_too(client):
    response = client.post(
        "/servicenow/api/now/v2/table/incident", json.dumps(report()), content_type="application/json", headers=auth()
    )

    assert response.status_code == 201


# --- query -----------------------------------------------------------------------------------------


def test_query_by_correlation_id_finds_only_that_incident_and_counts_matches(client):
    create(client, report("IH-AAAA"))
    wanted = create(client, report("IH-BBBB")).json()["result"]

    response = client.get(
        TABLE,
        {"sysparm_query": "correlation_id=IH-BBBB", "sysparm_limit": "1", "sysparm_exclude_reference_link": "true"},
        headers=auth(),
    )

    assert response.status_code == 200
    assert response["X-Total-Count"] == "1"
    assert [record["sys_id"] for record in response.json()["result"]] == [wanted["sys_id"]]
    assert HEX32.fullmatch(response.json()["result"][0]["opened_by"])


def test_query_without_a_match_is_an_empty_result(client):
    create(client, report("IH-AAAA"))

    response = client.get(TABLE, {"sysparm_query": "correlation_id=IH-NONE"}, headers=auth())

    assert response.status_code == 200
    assert response.json() == {"result": []}
    assert response["X-Total-Count"] == "0"


def test_query_by_number_and_other_fields_joined_with_caret(client):
    first = create(client, report("IH-AAAA")).json()["result"]
    create(client, report("IH-BBBB", impact="3"))

    by_number = client.get(TABLE, {"sysparm_query": f"number={first['number']}"}, headers=auth()).json()["result"]
    both = client.get(TABLE, {"sysparm_query": "impact=1^state=1"}, headers=auth()).json()["result"]
    not_equal = client.get(TABLE, {"sysparm_query": "correlation_id!=IH-AAAA"}, headers=auth()).json()["result"]

    assert [record["correlation_id"] for record in by_number] == ["IH-AAAA"]
    assert [record["correlation_id"] for record in both] == ["IH-AAAA"]
    assert [record["correlation_id"] for record in not_equal] == ["IH-BBBB"]


def test_query_pages_with_limit_and_offset_and_selects_fields(client):
    for suffix in "ABC":
        create(client, report(f"IH-{suffix}"))

    response = client.get(
        TABLE,
        {"sysparm_limit": "1", "sysparm_offset": "1", "sysparm_fields": "number,correlation_id"},
        headers=auth(),
    )

    assert response["X-Total-Count"] == "3"
    [record] = response.json()["result"]
    assert set(record) == {"number", "correlation_id"}
    assert record["correlation_id"] == "IH-B"


def test_query_orders_by_a_field(client):
    for suffix in "BCA":
        create(client, report(f"IH-{suffix}"))

    response = client.get(TABLE, {"sysparm_query": "ORDERBYDESCcorrelation_id"}, headers=auth())

    assert [record["correlation_id"] for record in response.json()["result"]] == ["IH-C", "IH-B", "IH-A"]


@pytest.mark.parametrize("params", [{"sysparm_query": "priority<=2"}, {"sysparm_limit": "ten"}])
def test_query_terms_and_paging_the_sandbox_cannot_honour_are_refused(client, params):
    response = client.get(TABLE, params, headers=auth())

    assert response.status_code == 400
    assert response.json()["status"] == "failure"


# --- read, update, delete --------------------------------------------------------------------------


def test_get_reads_one_record_and_404s_in_servicenows_shape(client):
    created = create(client, report()).json()["result"]

    found = client.get(f"{TABLE}/{created['sys_id']}", headers=auth())
    missing = client.get(f"{TABLE}/{'0' * 32}", headers=auth())

    assert found.status_code == 200 and found.json() == {"result": created}
    assert missing.status_code == 404 and missing.json() == NOT_FOUND


def test_patch_changes_fields_recomputes_priority_and_journals_work_notes(client):
    created = create(client, report()).json()["result"]

    response = client.patch(
        f"{TABLE}/{created['sys_id']}",
        json.dumps({"state": "2", "urgency": "3", "work_notes": "Carrier contacted."}),
        content_type="application/json",
        headers=auth(),
    )

    assert response.status_code == 200
    record = response.json()["result"]
    assert (record["state"], record["incident_state"], record["urgency"], record["priority"]) == ("2", "2", "3", "3")
    assert record["sys_mod_count"] == "1"
    assert record["work_notes"] == ""
    assert record["comments_and_work_notes"].endswith("- incident.hub (Work notes)\nCarrier contacted.\n\n")
    assert Incident.objects.get().fields["state"] == "2"


def test_put_resolving_an_incident_stamps_the_resolution(client):
    created = create(client, report()).json()["result"]

    response = client.put(
        f"{TABLE}/{created['sys_id']}?sysparm_exclude_reference_link=true",
        json.dumps({"state": "6", "close_code": "Solved (Permanently)", "close_notes": "Delivered."}),
        content_type="application/json",
        headers=auth(),
    )

    record = response.json()["result"]
    assert (record["state"], record["close_code"], record["close_notes"]) == ("6", "Solved (Permanently)", "Delivered.")
    assert DATETIME.fullmatch(record["resolved_at"])
    assert record["resolved_by"] == created["opened_by"]["value"]
    assert record["active"] == "true"


def test_patch_of_a_missing_record_is_404_and_invalid_json_is_400(client):
    created = create(client, report()).json()["result"]

    missing = client.patch(f"{TABLE}/{'0' * 32}", "{}", content_type="application/json", headers=auth())
    garbled = client.patch(f"{TABLE}/{created['sys_id']}", "[1,", content_type="application/json", headers=auth())

    assert (missing.status_code, missing.json()) == (404, NOT_FOUND)
    assert garbled.status_code == 400
    row = Incident.objects.get()
    assert (row.fields["state"], row.fields["sys_mod_count"]) == ("1", "0")


def test_delete_removes_the_record(client):
    created = create(client, report()).json()["result"]

    response = client.delete(f"{TABLE}/{created['sys_id']}", headers=auth())

    assert response.status_code == 204
    assert Incident.objects.count() == 0


def test_methods_the_table_api_does_not_offer_are_405(client):
    response = client.delete(TABLE, headers=auth())

    assert response.status_code == 405
    assert response.json()["status"] == "failure"


# --- faults ----------------------------------------------------------------------------------------


def test_injected_errors_come_in_servicenows_error_shape_and_create_nothing(client):
    update_faults("servicenow", {"fail_next": 1, "error_status": 503})

    failed = create(client, report())
    recovered = create(client, report())

    assert failed.status_code == 503
    assert failed.json() == {
        "error": {"message": "Service Unavailable", "detail": "The instance is temporarily unavailable"},
        "status": "failure",
    }
    assert recovered.status_code == 201
    assert Incident.objects.count() == 1


def test_injected_rate_limit_sends_retry_after_and_the_rate_limit_headers(client):
    update_faults("servicenow", {"rate_limit_next": 1, "retry_after": 7})

    before = int(time.time())
    limited = client.get(TABLE, {"sysparm_query": "correlation_id=IH-X"}, headers=auth())
    after = client.get(TABLE, {"sysparm_query": "correlation_id=IH-X"}, headers=auth())

    assert limited.status_code == 429
    assert limited["Retry-After"] == "7"
    assert limited["X-RateLimit-Limit"] == "1000"
    assert before + 7 <= int(limited["X-RateLimit-Reset"]) <= int(time.time()) + 7
    assert HEX32.fullmatch(limited["X-RateLimit-Rule"])
    assert limited.json()["status"] == "failure"
    assert after.status_code == 200


# --- the page a person opens -------------------------------------------------------------------------


def test_nav_to_shows_the_incident_named_in_the_uri(client):
    created = create(client, report(description="<script>alert(1)</script>")).json()["result"]

    page = client.get(f"/servicenow/nav_to.do?uri=incident.do?sys_id={created['sys_id']}")

    assert page.status_code == 200
    text = page.content.decode()
    assert created["number"] in text
    assert "Order 1042 never arrived" in text and "IH-7K2M9QX4TB" in text
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_nav_to_an_unknown_incident_is_404(client):
    page = client.get(f"/servicenow/nav_to.do?uri=incident.do?sys_id={'0' * 32}")

    assert page.status_code == 404
    assert "Record not found" in page.content.decode()


def test_the_sandbox_page_lists_created_incidents(client):
    created = create(client, report()).json()["result"]

    page = client.get("/")

    assert created["number"] in page.content.decode()
