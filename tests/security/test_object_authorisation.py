"""Object-level authorisation: a client sees only its own reports, a reporter needs reference and email."""

import pytest
from django.test import Client

from process_apis.models import IncidentRequest
from tests import reports
from tests.security.conftest import api_as

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])


def stored_report(reference: str, *, api_client_id: str = "", **fields: str) -> IncidentRequest:
    consumer = "incidents_v1" if api_client_id else "incident_form"
    return reports.stored_report(reference=reference, consumer=consumer, api_client_id=api_client_id, **fields)


@pytest.fixture
def two_clients():
    alice, bob = api_as("alice-app"), api_as("bob-app")
    stored_report("IH-A11CE00001", api_client_id=alice.api_client.client_id)
    stored_report("IH-B0B0000001", api_client_id=bob.api_client.client_id)
    stored_report("IH-WEB0000001")
    return alice, bob


def test_a_client_cannot_read_another_clients_report_or_a_web_report(two_clients):
    alice, _ = two_clients

    for reference in ("IH-B0B0000001", "ih-b0b0000001", "IH-WEB0000001"):
        response = alice.get(f"/api/v1/incidents/{reference}")
        assert response.status_code == 404, reference
        assert response.json()["message"] == f"You have no report {reference}."
    assert alice.get("/api/v1/incidents/IH-A11CE00001").status_code == 200


def test_a_client_lists_only_its_own_reports_whatever_it_asks_for(two_clients):
    alice, bob = two_clients

    for query in ({}, {"page_size": 100}, {"api_client_id": bob.api_client.client_id}, {"consumer": "incident_form"}):
        body = alice.get("/api/v1/incidents", query).json()
        assert [r["reference"] for r in body["results"]] == ["IH-A11CE00001"], query
    assert [r["reference"] for r in bob.get("/api/v1/incidents").json()["results"]] == ["IH-B0B0000001"]


def test_a_disabled_client_reads_nothing_even_its_own(two_clients):
    from experience_apis.clients.services import api_client_set_active

    alice, _ = two_clients
    api_client_set_active(client=alice.api_client, active=False)

    assert alice.get("/api/v1/incidents/IH-A11CE00001").status_code == 401


def test_the_status_page_needs_the_reference_and_the_email_that_reported_it(vendors):
    stored_report("IH-7Q4M2X9K0B", email="ada.lovelace@example.com")
    browser = Client()

    wrong_email = browser.post("/status", {"reference": "IH-7Q4M2X9K0B", "email": "grace.hopper@example.com"})
    wrong_reference = browser.post("/status", {"reference": "IH-7Q4M2X9K0C", "email": "ada.lovelace@example.com"})
    reference_only = browser.get("/status", {"reference": "IH-7Q4M2X9K0B"})
    both = browser.post("/status", {"reference": "IH-7Q4M2X9K0B", "email": "Ada.Lovelace@example.com"})

    for refused in (wrong_email, wrong_reference):
        assert "No report matches that reference and email." in refused.content.decode()
        assert "Report IH-7Q4M2X9K0B" not in refused.content.decode()
    assert "Report IH-7Q4M2X9K0B" not in reference_only.content.decode()
    assert 'Report <span class="mono">IH-7Q4M2X9K0B</span>' in both.content.decode()


def test_a_confirmation_page_opens_only_in_the_browser_that_sent_the_report():
    stored_report("IH-7Q4M2X9K0B")

    assert Client().get("/reports/IH-7Q4M2X9K0B").status_code == 404


def test_staff_see_every_report_in_the_admin_and_the_process_api(admin_client, two_clients):
    listing = admin_client.get("/admin/process_apis/incidentrequest/")

    assert listing.status_code == 200
    for reference in ("IH-A11CE00001", "IH-B0B0000001", "IH-WEB0000001"):
        assert reference in listing.content.decode()
        process = admin_client.get(f"/api/process/customer-incidents/v1/reports/{reference}")
        assert process.status_code == 200, process.content
        assert process.json()["reference"] == reference


def test_an_api_client_cannot_use_the_staff_apis(two_clients):
    alice, _ = two_clients

    response = alice.get("/api/process/customer-incidents/v1/reports/IH-A11CE00001")

    assert response.status_code == 403
    assert response.json()["extra"] == {"code": "permission_denied"}
