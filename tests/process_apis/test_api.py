import pytest

from process_apis.models import IncidentRequest, NotificationDelivery
from tests.security.conftest import api_as
from tests.vendors import SLACK_POST, sf_contact

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REPORT = {
    "email": "grace.hopper@example.com",
    "name": "Grace Hopper",
    "category": "payment",
    "urgency": 1,
    "short_description": "Card charged twice",
    "description": "Two charges for order 77.",
}


def post_report(admin_client, django_capture_on_commit_callbacks, *, key=None, **overrides):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    with django_capture_on_commit_callbacks(execute=True):
        return admin_client.post(
            "/api/process/customer-incidents/v1/reports",
            {**REPORT, **overrides},
            content_type="application/json",
            **headers,
        )


def test_staff_can_run_the_whole_orchestration_through_the_process_api(
    admin_client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows(sf_contact("grace.hopper@example.com", first="Grace", last="Hopper"))
    vendors.servicenow_creates("INC0010003")
    vendors.slack_accepts()

    response = post_report(admin_client, django_capture_on_commit_callbacks)

    assert response.status_code == 201
    body = response.json()
    assert body["servicenow_number"] == "INC0010003"
    assert body["status"] == "New"
    assert body["customer"] == {
        "display_name": "Grace Hopper",
        "email": "grace.hopper@example.com",
        "is_new": False,
        "found_in": ["legacy_db", "salesforce"],
        "unavailable": [],
    }
    assert body["notification"] == "pending"  # sent by Celery after the commit
    assert NotificationDelivery.objects.get().state == "sent"
    assert vendors.created[0]["impact"] == "2"  # a payment problem: medium impact
    assert admin_client.get(f"/api/process/customer-incidents/v1/reports/{body['reference']}").json() == {
        **body,
        "notification": "sent",
    }


def test_report_input_errors_are_listed_per_field_and_nothing_is_stored(admin_client, vendors):
    response = admin_client.post(
        "/api/process/customer-incidents/v1/reports",
        {**REPORT, "email": "nope", "category": "weather"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert set(response.json()["extra"]["fields"]) == {"email", "category"}
    assert not IncidentRequest.objects.exists()
    assert [call.request.url for call in vendors.mock.calls] == []


def test_customer_lookup_says_which_source_was_unavailable(admin_client, vendors, legacy_customers):
    vendors.salesforce_down()

    response = admin_client.get("/api/process/customers/v1/customers", {"email": "alan.turing@example.com"})

    assert response.status_code == 200
    assert response.json()["unavailable"] == ["salesforce"]
    assert response.json()["display_name"] == "Alan Turing"


def test_a_failed_notification_can_be_resent_once_and_a_sent_one_cannot(
    admin_client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_refuses("is_archived")
    post_report(admin_client, django_capture_on_commit_callbacks)
    delivery = NotificationDelivery.objects.get()
    assert delivery.state == "failed"
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        resent = admin_client.post(f"/api/process/notifications/v1/deliveries/{delivery.pk}/resend")
    again = admin_client.post(f"/api/process/notifications/v1/deliveries/{delivery.pk}/resend")

    assert resent.status_code == 202
    delivery.refresh_from_db()
    assert delivery.state == "sent"
    assert again.status_code == 409
    assert "Only a failed notification can be re-sent" in again.json()["message"]
    assert len(vendors.calls_to(SLACK_POST)) == 2


def test_unknown_report_is_a_json_404(admin_client):
    response = admin_client.get("/api/process/customer-incidents/v1/reports/IH-0000000000")

    assert response.status_code == 404
    assert response.json()["message"] == "No report IH-0000000000."


def test_process_apis_are_for_staff_only(client):
    response = client.get("/api/process/customers/v1/customers", {"email": "a@example.com"})

    assert response.status_code in (401, 403)


def test_the_process_api_names_its_caller_and_takes_who_filed_the_report(
    admin_client, admin_user, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    response = post_report(admin_client, django_capture_on_commit_callbacks, filed_by="Grace (support desk)")

    assert response.status_code == 201
    stored = IncidentRequest.objects.get()
    assert (stored.consumer, stored.consumer_label) == ("process_rest", "Process API (REST)")
    assert (stored.api_client_id, stored.filed_by) == (f"staff:{admin_user.username}", "Grace (support desk)")


def test_an_internal_client_is_named_as_the_caller(vendors, legacy_customers, django_capture_on_commit_callbacks):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    ops = api_as("ops-tool", internal=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = ops.post("/api/process/customer-incidents/v1/reports", REPORT, content_type="application/json")

    assert response.status_code == 201, response.content
    assert IncidentRequest.objects.get().api_client_id == f"client:{ops.api_client.client_id}"


def test_a_repeat_with_the_same_idempotency_key_answers_the_first_report_and_makes_no_second(
    admin_client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    first = post_report(admin_client, django_capture_on_commit_callbacks, key="ticket-77")
    again = post_report(admin_client, django_capture_on_commit_callbacks, key="ticket-77")
    other = post_report(admin_client, django_capture_on_commit_callbacks, key="ticket-78")

    assert first.json()["reference"] == again.json()["reference"] != other.json()["reference"]
    assert IncidentRequest.objects.count() == 2
    assert len(vendors.created) == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_an_idempotency_key_that_is_not_1_to_255_printable_ascii_is_refused(admin_client, vendors, key):
    response = admin_client.post(
        "/api/process/customer-incidents/v1/reports", REPORT, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["extra"]["fields"]
    assert not IncidentRequest.objects.exists()


def test_an_idempotency_key_used_again_for_a_different_report_is_refused(
    admin_client, vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    first = post_report(admin_client, django_capture_on_commit_callbacks, key="ticket-77")
    other = post_report(admin_client, django_capture_on_commit_callbacks, key="ticket-77", short_description="Other")
    same = post_report(
        admin_client, django_capture_on_commit_callbacks, key="ticket-77", email="GRACE.hopper@example.com"
    )

    assert (first.status_code, other.status_code, same.status_code) == (201, 422, 201)
    assert other.json()["extra"] == {"reference": first.json()["reference"]}
    assert IncidentRequest.objects.count() == 1
