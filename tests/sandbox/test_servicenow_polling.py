"""The Table API reads a poller makes: encoded queries on correlation id and update time, ordering, paging by Link."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.servicenow import views as servicenow
from sandbox.servicenow.choices import user_sys_id
from tests.sandbox.test_servicenow_sandbox import TABLE, auth, create, report

pytestmark = pytest.mark.django_db

LINK = re.compile(r'<(?P<url>[^>]+)>;rel="(?P<rel>[a-z]+)"')


@pytest.fixture(autouse=True)
def sandbox_urls(settings):
    settings.ROOT_URLCONF = "sandbox.urls"
    settings.SANDBOX_SERVICENOW_USERNAME = "incident.hub"
    settings.SANDBOX_SERVICENOW_PASSWORD = "sandbox-pass"


@pytest.fixture
def incidents(client, monkeypatch):
    """Five incidents, four of Incident Hub's, last updated at the times named (out of creation order)."""
    now = {"value": ""}
    monkeypatch.setattr(servicenow, "_now", lambda: now["value"])
    made = {}
    for correlation_id, updated in [
        ("IH-AAAA", "2026-12-03 09:00:00"),
        ("IH-BBBB", "2026-12-03 11:00:00"),
        ("OTHER-1", "2026-12-03 10:30:00"),
        ("IH-CCCC", "2026-12-03 10:00:00"),
        ("IH-DDDD", "2026-12-03 10:00:00"),
    ]:
        now["value"] = "2026-12-03 08:00:00"
        sys_id = create(client, report(correlation_id)).json()["result"]["sys_id"]
        now["value"] = updated
        client.patch(f"{TABLE}/{sys_id}", json.dumps({"state": "2"}), content_type="application/json", headers=auth())
        made[correlation_id] = sys_id
    return made


def query(client, **params: str):
    response = client.get(TABLE, params, headers=auth())
    assert response.status_code == 200, response.content
    return response


def correlation_ids(response) -> list[str]:
    return [record["correlation_id"] for record in response.json()["result"]]


def links(response) -> dict[str, dict[str, str]]:
    """The Link header's URLs by rel, each as its query parameters (the header must be wholly well-formed)."""
    header = response["Link"]
    parts = header.split(",<")
    parsed = {}
    for index, part in enumerate(parts):
        match = LINK.fullmatch(part if index == 0 else "<" + part)
        assert match, f"malformed Link entry {part!r} in {header!r}"
        url = urlsplit(match["url"])
        assert f"{url.scheme}://{url.netloc}{url.path}" == f"http://testserver{TABLE}"
        parsed[match["rel"]] = {name: values[0] for name, values in parse_qs(url.query).items()}
    return parsed


def test_starts_with_finds_incident_hubs_incidents_only(client, incidents):
    response = query(client, sysparm_query="correlation_idSTARTSWITHIH-")

    assert sorted(correlation_ids(response)) == ["IH-AAAA", "IH-BBBB", "IH-CCCC", "IH-DDDD"]
    assert response["X-Total-Count"] == "4"


@pytest.mark.parametrize(
    "since",
    [
        "2026-12-03 10:00:00",
        "'2026-12-03 10:00:00'",
        "javascript:gs.dateGenerate('2026-12-03','10:00:00')",
    ],
    ids=["plain", "quoted", "dateGenerate"],
)
def test_updated_since_and_starts_with_ordered_by_update_time(client, incidents, since):
    response = query(client, sysparm_query=f"correlation_idSTARTSWITHIH-^sys_updated_on>={since}^ORDERBYsys_updated_on")

    # Equal times keep the order the instance made them in, so a page boundary never reshuffles them.
    assert correlation_ids(response) == ["IH-CCCC", "IH-DDDD", "IH-BBBB"]


def test_strictly_after_and_descending_order(client, incidents):
    after = query(client, sysparm_query="sys_updated_on>2026-12-03 10:00:00^ORDERBYDESCsys_updated_on")
    before = query(client, sysparm_query="sys_updated_on<2026-12-03 10:00:00")

    assert correlation_ids(after) == ["IH-BBBB", "OTHER-1"]
    assert correlation_ids(before) == ["IH-AAAA"]


def test_a_date_alone_means_its_midnight(client, incidents):
    response = query(client, sysparm_query="sys_updated_on>=2026-12-04")

    assert correlation_ids(response) == []


def test_fields_select_what_a_poller_needs(client, incidents):
    response = query(
        client,
        sysparm_query="correlation_id=IH-BBBB",
        sysparm_fields="sys_id,sys_mod_count,sys_updated_on,state",
    )

    assert response.json() == {
        "result": [
            {
                "sys_id": incidents["IH-BBBB"],
                "sys_mod_count": "1",
                "sys_updated_on": "2026-12-03 11:00:00",
                "state": "2",
            }
        ]
    }


def test_sys_mod_count_compares_as_a_number(client, incidents):
    sys_id = incidents["IH-AAAA"]
    for _ in range(10):
        client.patch(f"{TABLE}/{sys_id}", json.dumps({}), content_type="application/json", headers=auth())

    response = query(client, sysparm_query="sys_mod_count>=2^ORDERBYDESCsys_mod_count")

    assert correlation_ids(response) == ["IH-AAAA"]
    assert response.json()["result"][0]["sys_mod_count"] == "11"


def test_other_operators(client, incidents):
    assert correlation_ids(query(client, sysparm_query="correlation_idENDSWITHCCC")) == ["IH-CCCC"]
    assert correlation_ids(query(client, sysparm_query="correlation_idLIKEBBB")) == ["IH-BBBB"]
    assert correlation_ids(query(client, sysparm_query="correlation_idINIH-AAAA,OTHER-1")) == ["IH-AAAA", "OTHER-1"]
    assert len(correlation_ids(query(client, sysparm_query="correlation_idNOT INIH-AAAA,OTHER-1"))) == 3
    assert correlation_ids(query(client, sysparm_query="resolved_atISNOTEMPTY")) == []
    assert len(correlation_ids(query(client, sysparm_query="hold_reasonISEMPTY"))) == 5


def test_pages_follow_the_link_header_to_the_end(client, incidents):
    wanted = "correlation_idSTARTSWITHIH-^ORDERBYsys_updated_on"
    first = query(client, sysparm_query=wanted, sysparm_limit="3", sysparm_fields="correlation_id")

    first_links = links(first)
    assert set(first_links) == {"first", "next", "last"}
    assert first_links["first"] == {
        "sysparm_query": wanted,
        "sysparm_fields": "correlation_id",
        "sysparm_offset": "0",
        "sysparm_limit": "3",
    }
    assert (first_links["next"]["sysparm_offset"], first_links["last"]["sysparm_offset"]) == ("3", "3")
    assert first["X-Total-Count"] == "4"

    second = query(client, **first_links["next"])

    second_links = links(second)
    assert set(second_links) == {"first", "prev", "last"}
    assert second_links["prev"]["sysparm_offset"] == "0"
    assert correlation_ids(first) + correlation_ids(second) == ["IH-AAAA", "IH-CCCC", "IH-DDDD", "IH-BBBB"]


def test_a_middle_page_links_both_ways_and_last_is_the_final_full_step(client, incidents):
    response = query(client, sysparm_limit="2", sysparm_offset="1")

    page_links = links(response)
    assert {rel: values["sysparm_offset"] for rel, values in page_links.items()} == {
        "first": "0",
        "prev": "0",
        "next": "3",
        "last": "4",
    }
    assert response["Link"].startswith(f'<http://testserver{TABLE}?sysparm_offset=0&sysparm_limit=2>;rel="first",<')


def test_one_page_holding_everything_has_no_link_header(client, incidents):
    response = query(client, sysparm_query="correlation_idSTARTSWITHIH-", sysparm_limit="10")

    assert "Link" not in response
    assert response["X-Total-Count"] == "4"


@pytest.mark.parametrize(
    "encoded",
    [
        "sys_updated_on>=yesterday",
        "sys_updated_on>=javascript:gs.beginningOfToday()",
        "short_description>=A",
        "sys_mod_count>=two",
        "correlation_idISEMPTYx",
        "correlation_id~~IH",
    ],
)
def test_terms_the_sandbox_cannot_honour_are_400_not_ignored(client, incidents, encoded):
    response = client.get(TABLE, {"sysparm_query": encoded}, headers=auth())

    assert response.status_code == 400
    assert response.json()["status"] == "failure"


def test_the_lookup_by_correlation_id_incident_hub_makes_still_works(client, incidents):
    response = query(
        client,
        sysparm_query="correlation_id=IH-CCCC",
        sysparm_limit="1",
        sysparm_exclude_reference_link="true",
    )

    assert [record["sys_id"] for record in response.json()["result"]] == [incidents["IH-CCCC"]]
    assert "Link" not in response


def test_display_values_show_labels_and_names_as_the_table_api_does(client):
    sys_id = create(client, report("IH-EEEE")).json()["result"]["sys_id"]
    servicenow.update_incident(sys_id, {"state": "2", "assigned_to": user_sys_id("beth.anglin")}, "admin")
    fields = "state,priority,assigned_to,correlation_id"

    both = client.get(
        f"{TABLE}/{sys_id}",
        {"sysparm_fields": fields, "sysparm_display_value": "all", "sysparm_exclude_reference_link": "true"},
        headers=auth(),
    ).json()["result"]
    shown = client.get(f"{TABLE}/{sys_id}", {"sysparm_fields": fields, "sysparm_display_value": "true"}, headers=auth())

    assert both == {
        "state": {"display_value": "In Progress", "value": "2"},
        "priority": {"display_value": "2 - High", "value": "2"},
        "assigned_to": {"display_value": "Beth Anglin", "value": user_sys_id("beth.anglin")},
        "correlation_id": {"display_value": "IH-EEEE", "value": "IH-EEEE"},
    }
    assigned = shown.json()["result"]["assigned_to"]
    assert (shown.json()["result"]["state"], assigned["display_value"]) == ("In Progress", "Beth Anglin")
    assert assigned["link"].endswith(f"/api/now/table/sys_user/{user_sys_id('beth.anglin')}")
    assert "value" not in assigned
