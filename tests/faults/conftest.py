"""Fault injection, end to end: reports over real HTTP, through every layer, to the sandbox's stand-ins.

One live server serves the project and, under /sandbox/, the vendors' stand-ins (tests.urls_with_sandbox);
the connectors are pointed at it. Reports arrive through the REST v1 API with a real OAuth token, faults
are set through the sandbox's own endpoint, and the tests read what the stand-ins stored.
Tests using `hub` need `@pytest.mark.django_db(transaction=True, databases=["default", "legacy"])`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import call_command

from experience_apis.clients.services import api_client_create
from sandbox.models import Fault

REPORT = {
    "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace",
    "category": "order",
    "urgency": "2",
    "short_description": "Parcel never arrived",
    "description": "Order 1042 was due on Monday.",
    "order_number": "1042",
}
# Far above what an answer takes on this machine, far below any timeout a fault could make it wait for.
PROMPT_SECONDS = 5.0


def slack_fields(blocks: list[dict[str, Any]]) -> dict[str, str]:
    """The "*Label*\nvalue" fields of a posted message's sections, by label."""
    texts = [field["text"] for block in blocks if block["type"] == "section" for field in block.get("fields", [])]
    return dict(text.removeprefix("*").split("*\n", 1) for text in texts)


@dataclass(frozen=True)
class Reported:
    response: requests.Response
    seconds: float

    @property
    def body(self) -> dict[str, Any]:
        return self.response.json()


class Hub:
    """A REST client of Incident Hub and a hand on the sandbox's fault knobs, both over HTTP."""

    def __init__(self, url: str, token: str, client_id: str = "") -> None:
        self.url = url
        self.client_id = client_id
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def report(self, **changes: str) -> Reported:
        started = time.monotonic()
        response = self.session.post(f"{self.url}/api/v1/incidents", json={**REPORT, **changes}, timeout=30)
        return Reported(response, time.monotonic() - started)

    def status(self, reference: str) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/api/v1/incidents/{reference}", timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def set_faults(self, system: str, **values: object) -> dict[str, Any]:
        response = requests.put(f"{self.url}/sandbox/_sandbox/faults/{system}", json=values, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, system: str) -> dict[str, Any]:
        response = requests.get(f"{self.url}/sandbox/_sandbox/faults/{system}", timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def requests_seen(self, system: str) -> int:
        """How many requests reached the stand-in, fault or not (the endpoint does not show the counter)."""
        return Fault.for_system(system).requests_seen


@pytest.fixture
def site(live_server, settings) -> str:
    """The live server's URL, serving the project and the sandbox, with every connector pointed at it."""
    settings.ROOT_URLCONF = "tests.urls_with_sandbox"
    settings.SERVICENOW_BASE_URL = f"{live_server.url}/sandbox/servicenow"
    settings.SALESFORCE_BASE_URL = f"{live_server.url}/sandbox/salesforce"
    settings.SLACK_API_URL = f"{live_server.url}/sandbox/slack/api/"
    settings.SLACK_CHANNEL = "#incidents"
    call_command("seed_sandbox", stdout=StringIO())
    call_command("seed_legacy_customers", stdout=StringIO())
    return live_server.url


@pytest.fixture
def hub(site) -> Hub:
    api_client, secret = api_client_create(name="fault-injection")
    answer = requests.post(
        f"{site}/o/token/",
        data={"grant_type": "client_credentials"},
        auth=(api_client.client_id, secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return Hub(site, answer.json()["access_token"], api_client.client_id)
