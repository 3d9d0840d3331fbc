"""The ServiceNow connector driving the sandbox's stand-in over real HTTP, as it would drive an instance."""

import re

import pytest
import requests
from django.core.cache import cache

from sandbox.faults import update_faults
from sandbox.servicenow.models import Incident as IncidentRow
from system_apis import shared_state
from system_apis.errors import SystemAuthError, SystemNotFound, SystemRateLimited
from system_apis.servicenow.client import ServiceNowClient
from system_apis.servicenow.types import Impact, IncidentState, IncidentUpdate, NewIncident, Urgency

pytestmark = pytest.mark.django_db(transaction=True)


def connector(sandbox_url: str, settings, password: str | None = None) -> ServiceNowClient:
    return ServiceNowClient(
        base_url=f"{sandbox_url}/servicenow",
        username=settings.SANDBOX_SERVICENOW_USERNAME,
        password=password or settings.SANDBOX_SERVICENOW_PASSWORD,
        timeout=(2.0, 10.0),
    )


def test_create_find_get_and_update_an_incident_in_the_sandbox(sandbox_url, settings):
    client = connector(sandbox_url, settings)

    created = client.create_incident(
        NewIncident(
            short_description="Payment failed at checkout",
            description="Card declined twice, money reserved.",
            impact=Impact.HIGH,
            urgency=Urgency.MEDIUM,
            correlation_id="IH-5R8T2W6Y0Z",
            caller_email="ada@example.com",
        )
    )
    found = client.find_by_correlation_id("IH-5R8T2W6Y0Z")
    fetched = client.get_incident(created.sys_id)
    updated = client.update_incident(
        created.sys_id, IncidentUpdate(state=IncidentState.IN_PROGRESS, urgency=Urgency.HIGH, work_notes="On it.")
    )

    row = IncidentRow.objects.get()
    assert re.fullmatch(r"[0-9a-f]{32}", created.sys_id) and created.sys_id == row.sys_id
    assert created.number == row.number == f"INC{10000 + row.pk:07d}"
    assert (created.state, created.impact, created.urgency, created.priority) == (
        IncidentState.NEW,
        Impact.HIGH,
        Urgency.MEDIUM,
        2,
    )
    assert created.description == "Card declined twice, money reserved.\n\nCaller email: ada@example.com"
    assert (created.correlation_id, created.category) == ("IH-5R8T2W6Y0Z", "inquiry")
    assert created.opened_at is not None and created.opened_at.tzinfo is not None
    assert found == created
    assert fetched == created
    assert (updated.state, updated.urgency, updated.priority) == (IncidentState.IN_PROGRESS, Urgency.HIGH, 1)
    assert row.fields["contact_type"] == "web"
    assert "On it." in row.fields["comments_and_work_notes"]


def test_the_incident_url_opens_in_the_sandbox(sandbox_url, settings):
    client = connector(sandbox_url, settings)
    created = client.create_incident(
        NewIncident(
            short_description="Site shows an error page",
            description="",
            impact=Impact.LOW,
            urgency=Urgency.LOW,
            correlation_id="IH-0A1B2C3D4E",
        )
    )

    page = requests.get(created.url, timeout=5)

    assert created.url == f"{sandbox_url}/servicenow/nav_to.do?uri=incident.do?sys_id={created.sys_id}"
    assert page.status_code == 200
    assert created.number in page.text and "Site shows an error page" in page.text


def test_find_of_an_unknown_correlation_id_is_none_and_get_of_an_unknown_sys_id_not_found(sandbox_url, settings):
    client = connector(sandbox_url, settings)

    assert client.find_by_correlation_id("IH-NOTHERE000") is None
    with pytest.raises(SystemNotFound):
        client.get_incident("0" * 32)


def test_a_wrong_password_is_an_auth_error_and_creates_nothing(sandbox_url, settings):
    client = connector(sandbox_url, settings, password="not-the-password")

    with pytest.raises(SystemAuthError) as caught:
        client.create_incident(
            NewIncident(
                short_description="x",
                description="",
                impact=Impact.LOW,
                urgency=Urgency.LOW,
                correlation_id="IH-AUTH000000",
            )
        )

    assert caught.value.status == 401
    assert caught.value.message == "User Not Authenticated: Required to provide Auth information"
    assert IncidentRow.objects.count() == 0


def test_a_rate_limited_sandbox_tells_the_connector_when_to_retry(sandbox_url, settings):
    update_faults("servicenow", {"rate_limit_next": 1, "retry_after": 3})
    client = connector(sandbox_url, settings)

    with pytest.raises(SystemRateLimited) as caught:
        client.find_by_correlation_id("IH-5R8T2W6Y0Z")

    assert caught.value.retry_after == 3.0
    # Every process waits as asked: the next call is held back here, not sent.
    with pytest.raises(SystemRateLimited, match="on hold") as held:
        connector(sandbox_url, settings).find_by_correlation_id("IH-5R8T2W6Y0Z")
    assert 0 < held.value.retry_after <= 3.0
    cache.delete("quota-hold:servicenow")  # as if the 3 s had passed
    shared_state.forget()  # and this process had read the holds again since
    assert client.find_by_correlation_id("IH-5R8T2W6Y0Z") is None
