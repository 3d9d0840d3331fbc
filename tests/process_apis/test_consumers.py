"""The process layer takes any consumer: it names itself, may file for someone, may have less time."""

import json

import pytest
import responses

from kernel.budget import time_left
from process_apis.customer_incidents.inputs import ReportInputError
from process_apis.customer_incidents.selectors import incident_find
from process_apis.customer_incidents.services import incident_report
from process_apis.customer_incidents.types import Consumer
from process_apis.models import IncidentRequest
from tests.reports import stored_report
from tests.vendors import SN_INCIDENTS, sf_contact, sn_record

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

CHAT = Consumer(name="team_chat", label="Team chat command", contact_type="phone")
BY_EMAIL_ONLY = {"email": "ada.lovelace@example.com", "category": "order", "urgency": 2, "short_description": "Lost"}


def test_a_consumer_the_process_layer_never_heard_of_is_stored_shown_and_told_to_servicenow(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com", first="Ada", last="Byron"))
    vendors.servicenow_creates("INC0010011")
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        report = incident_report(**BY_EMAIL_ONLY, consumer=CHAT, filed_by="Grace (support)", api_client_id="U0GRACE")

    report.refresh_from_db()
    assert (report.consumer, report.consumer_label, report.contact_type) == ("team_chat", "Team chat command", "phone")
    assert (report.filed_by, report.api_client_id) == ("Grace (support)", "U0GRACE")
    # No name given: the one the customer's records know; no description: the one line stands for it.
    assert (report.name, report.description) == ("Ada Byron", "")
    [created] = vendors.created
    assert created["contact_type"] == "phone"
    assert created["description"].startswith("Lost\n\n")
    assert "via Incident Hub (Team chat command)" in created["description"]
    assert "Filed on the customer's behalf by Grace (support)" in created["description"]
    [message] = vendors.slack_bodies()
    fields = json.dumps(message["blocks"])
    assert "Team chat command" in fields and "Filed by" in fields and "Grace (support)" in fields
    assert report.events.get(kind="accepted").detail["consumer"] == "team_chat"


def test_an_unknown_customer_without_a_name_is_stored_without_one(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    report = incident_report(**{**BY_EMAIL_ONLY, "email": "new.customer@example.com"}, consumer=CHAT)

    assert report.name == ""
    assert "Reported by  <" not in vendors.created[0]["description"]


@pytest.mark.parametrize(
    ("name", "label", "contact_type"),
    [("Slack", "x", "phone"), ("", "x", "phone"), ("a" * 41, "x", "phone"), ("ok", "", "phone"), ("ok", "x", "")],
)
def test_a_consumer_must_name_itself_in_a_form_that_can_be_stored(name, label, contact_type):
    with pytest.raises(ValueError):
        Consumer(name=name, label=label, contact_type=contact_type)


def test_a_consumer_with_less_time_gets_a_shorter_budget_never_a_longer_one(
    vendors, legacy_customers, settings, django_capture_on_commit_callbacks
):
    settings.REPORT_DOWNSTREAM_BUDGET = 20.0
    vendors.salesforce_knows()
    vendors.slack_accepts()
    left_at_create = []

    def create(request):
        left_at_create.append(time_left())
        body = json.loads(request.body)
        return 201, {}, json.dumps({"result": sn_record(correlation_id=body["correlation_id"])})

    vendors.mock.add_callback(responses.POST, SN_INCIDENTS, callback=create)

    incident_report(**BY_EMAIL_ONLY, consumer=CHAT, budget=2.5)
    incident_report(**BY_EMAIL_ONLY, consumer=CHAT, budget=600)

    assert 0 < left_at_create[0] <= 2.5
    assert 2.5 < left_at_create[1] <= 20.0


@pytest.mark.parametrize("budget", [0, -1])
def test_a_budget_that_leaves_no_time_is_refused_before_anything_is_stored(vendors, budget):
    with pytest.raises(ReportInputError):
        incident_report(**BY_EMAIL_ONLY, consumer=CHAT, budget=budget)

    assert not IncidentRequest.objects.exists()
    assert len(vendors.mock.calls) == 0


def test_the_customer_without_a_name_is_greeted_without_one(
    vendors, legacy_customers, mailoutbox, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        incident_report(**{**BY_EMAIL_ONLY, "email": "new.customer@example.com"}, consumer=CHAT)

    [confirmation] = mailoutbox
    assert confirmation.body.startswith("Hello,\n")


@pytest.mark.parametrize("typed", ["IH-7Q2M4K8P1Z", "ih-7q2m4k8p1z", " IH 7Q2M 4K8P 1Z ", "INC0010042", "inc0010042"])
def test_a_report_is_found_by_its_reference_as_typed_or_its_servicenow_number(typed):
    report = stored_report(reference="IH-7Q2M4K8P1Z", servicenow_number="INC0010042")
    stored_report(reference="IH-0000000000", servicenow_number="INC0010043")

    assert incident_find(identifier=typed) == report


@pytest.mark.parametrize("typed", ["", "IH-", "INC0010099", "IH-0000000001", "hello"])
def test_nothing_is_found_for_an_unknown_or_malformed_identifier(typed):
    stored_report(reference="IH-0000000000", servicenow_number="INC0010043")

    assert incident_find(identifier=typed) is None


def test_who_called_is_checked_like_the_rest_and_missing_text_is_empty_text(vendors, legacy_customers):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    with pytest.raises(ReportInputError) as refused:
        incident_report(**BY_EMAIL_ONLY, consumer=CHAT, api_client_id="x" * 101)
    report = incident_report(**BY_EMAIL_ONLY, consumer=CHAT, name=None, description=None, order_number=None)

    assert list(refused.value.extra["fields"]) == ["api_client_id"]
    assert (report.name, report.description, report.order_number) == ("Ada Lovelace", "", "")  # the known name
