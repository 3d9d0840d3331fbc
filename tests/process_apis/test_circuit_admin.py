"""Open circuits as staff and the process layer see them: shown on the admin home, honoured by the retries."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from process_apis.customer_incidents.services import incident_report
from system_apis.circuit import CacheCircuitStorage, SystemCircuit
from tests.reports import ADA_REPORT as REPORT
from tests.reports import TEST_CONSUMER
from tests.vendors import SLACK_POST, SN_INCIDENTS

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

ADMIN_HOME = reverse("admin:index")


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("grace", "grace@example.com", "pw", is_staff=True))
    return client


def open_circuit(system: str) -> None:
    """As if `system` had just failed CIRCUIT_BREAKER_FAIL_MAX times in a row."""
    SystemCircuit(system).open()


def test_the_admin_home_shows_staff_which_circuits_are_open(staff_client, settings):
    settings.CIRCUIT_BREAKER_RESET_TIMEOUT = 30.0
    open_circuit("servicenow")

    response = staff_client.get(ADMIN_HOME)

    assertContains(response, "Downstream circuits — 1 open, failing fast")
    circuits = {circuit.system: circuit for circuit in response.context["circuits"]}
    assert {system: circuit.state for system, circuit in circuits.items()} == {
        "servicenow": "open",
        "salesforce": "closed",
        "slack": "closed",
        "legacy_db": "closed",
        "email": "closed",
    }
    opened = circuits["servicenow"]
    assert opened.half_opens_at == CacheCircuitStorage("servicenow").opened_at + timedelta(seconds=30)
    assert timezone.now() - timedelta(seconds=5) < opened.since <= timezone.now()
    assertContains(response, '<tr class="circuit-open" data-system="servicenow">', count=1)
    assertContains(response, f'<time datetime="{opened.half_opens_at.isoformat()}">', count=1)
    assertContains(response, '<tr class="circuit-closed" data-system="slack">', count=1)
    # Still Django's admin home underneath.
    assertContains(response, 'id="recent-actions-module"')


def test_the_admin_home_with_every_circuit_closed_says_so_quietly(staff_client):
    response = staff_client.get(ADMIN_HOME)

    assertContains(response, "<caption>Downstream circuits</caption>", html=True)
    assertContains(response, 'class="circuit-closed"', count=5)
    assertNotContains(response, "failing fast")


def test_people_who_are_not_staff_never_see_the_circuits():
    client = Client()
    client.force_login(User.objects.create_user("ada", "ada@example.com", "pw"))

    response = client.get(ADMIN_HOME)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_an_open_slack_circuit_makes_the_notification_wait_until_it_half_opens_without_a_post(
    vendors, legacy_customers, django_capture_on_commit_callbacks, settings
):
    settings.CIRCUIT_BREAKER_RESET_TIMEOUT = 30.0
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    open_circuit("slack")

    with django_capture_on_commit_callbacks(execute=True):
        request = incident_report(**REPORT, consumer=TEST_CONSUMER)

    delivery = request.notifications.get()
    assert (delivery.state, delivery.work.attempts) == ("retrying", 1)
    assert "circuit open: slack keeps failing" in delivery.work.last_error
    assert (
        timezone.now() + timedelta(seconds=27) < delivery.work.next_attempt_at <= timezone.now() + timedelta(seconds=30)
    )
    assert vendors.calls_to(SLACK_POST) == []


def test_an_open_servicenow_circuit_keeps_the_report_accepted_and_retries_when_it_half_opens(
    vendors, legacy_customers, django_capture_on_commit_callbacks, settings
):
    settings.CIRCUIT_BREAKER_RESET_TIMEOUT = 30.0
    settings.SERVICENOW_RETRY_BASE = 0.01
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    open_circuit("servicenow")

    with django_capture_on_commit_callbacks(execute=True):
        request = incident_report(**REPORT, consumer=TEST_CONSUMER)

    request.refresh_from_db()
    assert (request.sync_state, request.sync_work.attempts) == ("pending", 1)
    assert "circuit open: servicenow keeps failing" in request.sync_work.last_error
    assert (
        timezone.now() + timedelta(seconds=27)
        < request.sync_work.next_attempt_at
        <= timezone.now() + timedelta(seconds=30)
    )
    assert vendors.calls_to(SN_INCIDENTS) == []
