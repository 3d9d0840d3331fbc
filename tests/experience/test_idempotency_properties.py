"""Property: whatever the sequence of (client, key, body) requests, the Idempotency-Key rules hold.

The Process API is replaced by a fake that counts its calls and stores a plausible report, so that each
example exercises the idempotency layer itself (through the real view, authentication and database)
and no HTTP mock is needed; `vendors` stays on only to prove that nothing goes out.
"""

import json
from dataclasses import dataclass, field
from unittest import mock

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from experience_apis.models import IdempotencyRecord
from process_apis.models import IncidentRequest
from tests.experience.test_idempotency import REPORT, api_as
from tests.reports import stored_report

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

BODIES = [
    REPORT,
    {**REPORT, "urgency": "3"},
    {**REPORT, "description": "It came back after a reload.", "order_number": "1042"},
]
LAYOUTS = {
    "compact": lambda body: json.dumps(body, separators=(",", ":")),
    "reversed": lambda body: json.dumps(dict(reversed(list(body.items()))), indent=2),
    "sorted": lambda body: json.dumps(body, sort_keys=True, separators=(" , ", " : ")),
}
KEYS = st.one_of(
    st.none(),
    st.sampled_from(["a", "b", "order-1042"]),  # few keys, so that they are used again
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"'), min_size=1, max_size=40),
)


@dataclass(frozen=True)
class Call:
    client: int
    key: str | None
    body: int
    layout: str
    quoted: bool  # the key sent as a Structured Field String: the same key
    retried_in_flight: bool  # a retry with the same key arrives while this request is being processed


CALLS = st.builds(
    Call,
    client=st.integers(0, 1),
    key=KEYS,
    body=st.integers(0, len(BODIES) - 1),
    layout=st.sampled_from(sorted(LAYOUTS)),
    quoted=st.booleans(),
    retried_in_flight=st.booleans(),
)


@dataclass
class FakeReport:
    """Stands in for `incident_report`: counts calls, stores a report as the Process API would."""

    calls: int = 0
    during: list = field(default_factory=list)  # what to do while "processing" (a concurrent retry)

    def __call__(self, **values: object) -> IncidentRequest:
        self.calls += 1
        while self.during:
            self.during.pop()()
        return stored_report(
            email=values["email"],
            name=values["name"],
            order_number=values.get("order_number", ""),
            category=values["category"],
            urgency=values["urgency"],
            impact=3,
            short_description=values["short_description"],
            description=values["description"],
            consumer=values["consumer"].name,
            api_client_id=values["api_client_id"],
            trace_id=values["trace_id"],
        )


def send(client: Client, call: Call):
    headers = {}
    if call.key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = '"' + call.key.replace("\\", "\\\\") + '"' if call.quoted else call.key
    body = LAYOUTS[call.layout](BODIES[call.body])
    return client.post("/api/v1/incidents", body, content_type="application/json", **headers)


@pytest.fixture
def clients() -> list[Client]:
    return [api_as("client-a"), api_as("client-b")]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(CALLS, min_size=1, max_size=12))
def test_one_report_per_client_and_key_every_replay_the_first_answer_and_422_for_another_body(clients, vendors, calls):
    # One database transaction holds every example: start each from nothing.
    IdempotencyRecord.objects.all().delete()
    IncidentRequest.objects.all().delete()
    fake = FakeReport()
    first_answers: dict[tuple[int, str], tuple[int, int, bytes, str]] = {}
    keyless = 0
    in_flight_answers = []

    with mock.patch("experience_apis.rest.api.incident_report", side_effect=fake):
        for call in calls:
            client = clients[call.client]
            if call.retried_in_flight and call.key is not None:
                fake.during.append(lambda client=client, call=call: in_flight_answers.append(send(client, call)))
            response = send(client, call)
            fake.during.clear()

            if call.key is None:
                keyless += 1
                assert response.status_code == 201
                assert "Idempotent-Replayed" not in response
                continue
            first = first_answers.get((call.client, call.key))
            if first is None:
                assert response.status_code == 201
                assert "Idempotent-Replayed" not in response
                first_answers[(call.client, call.key)] = (
                    call.body,
                    response.status_code,
                    response.content,
                    response["Location"],
                )
            elif first[0] == call.body:
                assert response["Idempotent-Replayed"] == "true"
                assert (response.status_code, response.content, response["Location"]) == first[1:]
            else:
                assert response.status_code == 422
                assert response.json()["extra"]["code"] == "idempotency_key_reused"

    assert fake.calls == IncidentRequest.objects.count() == len(first_answers) + keyless
    for answer in in_flight_answers:
        assert (answer.status_code, answer["Retry-After"]) == (409, "1")
    assert len(vendors.mock.calls) == 0
