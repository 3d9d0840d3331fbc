"""Fake vendors: `responses` answering as ServiceNow, Salesforce and Slack do (fixture `vendors`)."""

import json
import re
from dataclasses import dataclass, field

import responses

SN = "https://acme.service-now.test"
SF = "https://acme.my.salesforce.test"
SLACK = "https://slack.test/api/"
SN_INCIDENTS = f"{SN}/api/now/table/incident"
SF_TOKEN = f"{SF}/services/oauth2/token"
SF_QUERY = re.compile(rf"{re.escape(SF)}/services/data/v\d+\.\d+/query.*")
SLACK_POST = f"{SLACK}chat.postMessage"
SLACK_VIEWS_OPEN = f"{SLACK}views.open"
# A slash command's response_url, as Slack sends it.
SLACK_RESPONSE_URL = "https://hooks.slack.com/commands/T0INCIDENT/1234567890/AbCdEfGhIjKlMnOp"


def sn_record(number: str = "INC0010001", correlation_id: str = "", state: str = "1", **extra: str) -> dict:
    return {
        "sys_id": "a" * 32,
        "number": number,
        "state": state,
        "impact": "3",
        "urgency": "2",
        "priority": "4",
        "short_description": "Parcel never arrived",
        "description": "Order 1042",
        "correlation_id": correlation_id,
        "category": "inquiry",
        "opened_at": "2026-11-22 10:00:00",
        "sys_updated_on": "2026-11-22 10:00:00",
        "sys_mod_count": "0",
        **extra,
    }


def sf_contact(email: str, first: str = "Ada", last: str = "Lovelace", phone: str = "+44 20 7946 0958") -> dict:
    return {
        "attributes": {"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/0035g00000AdaLv1AB"},
        "Id": "0035g00000AdaLv1AB",
        "FirstName": first,
        "LastName": last,
        "Email": email,
        "Phone": phone,
        "AccountId": "0015g00000AnlEngAA",
        "Account": {"attributes": {"type": "Account"}, "Name": "Analytical Engines Ltd"},
    }


@dataclass
class Vendors:
    mock: responses.RequestsMock
    created: list[dict] = field(default_factory=list)

    def servicenow_creates(self, number: str = "INC0010001") -> None:
        def create(request):
            body = json.loads(request.body)
            self.created.append(body)
            record = sn_record(number=number, correlation_id=body["correlation_id"])
            return (201, {"Location": f"{SN_INCIDENTS}/{'a' * 32}"}, json.dumps({"result": record}))

        self.mock.add_callback(responses.POST, SN_INCIDENTS, callback=create)

    def servicenow_fails(self, status: int = 503) -> None:
        body = {"error": {"message": "Service Unavailable", "detail": "down"}, "status": "failure"}
        self.mock.add(responses.POST, SN_INCIDENTS, json=body, status=status)

    def salesforce_knows(self, *contacts: dict) -> None:
        self.mock.add(
            responses.POST,
            SF_TOKEN,
            json={"access_token": "00Dtoken", "instance_url": SF, "token_type": "Bearer", "issued_at": "1"},
        )
        self.mock.add(
            responses.GET, SF_QUERY, json={"totalSize": len(contacts), "done": True, "records": list(contacts)}
        )

    def salesforce_down(self) -> None:
        self.mock.add(
            responses.POST, SF_TOKEN, json=[{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}], status=503
        )

    def slack_accepts(self) -> None:
        self.mock.add(
            responses.POST, SLACK_POST, json={"ok": True, "channel": "C0INCIDENTS", "ts": "1700000000.000100"}
        )

    def slack_refuses(self, error: str = "channel_not_found") -> None:
        self.mock.add(responses.POST, SLACK_POST, json={"ok": False, "error": error})

    def slack_unavailable(self, status: int = 503) -> None:
        self.mock.add(responses.POST, SLACK_POST, json={"ok": False, "error": "service_unavailable"}, status=status)

    def slack_opens_views(self, view_id: str = "V0INCIDENT1") -> None:
        self.mock.add(responses.POST, SLACK_VIEWS_OPEN, json={"ok": True, "view": {"id": view_id, "type": "modal"}})

    def slack_takes_answers(self, response_url: str = SLACK_RESPONSE_URL) -> None:
        self.mock.add(responses.POST, response_url, body="ok", content_type="text/html")

    def calls_to(self, url_start: str) -> list:
        return [call for call in self.mock.calls if call.request.url.startswith(url_start)]

    def slack_bodies(self) -> list[dict]:
        return [json.loads(call.request.body) for call in self.calls_to(SLACK_POST)]
