import re
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import DatabaseError
from django.utils import timezone

from kernel.errors import NotAcceptedError, NotFoundError
from kernel.models import Work
from kernel.work import work_run
from process_apis.customer_incidents.references import normalize_reference
from process_apis.customer_incidents.selectors import incident_summary
from process_apis.customer_incidents.services import (
    incident_refresh_state,
    incident_report,
    incident_retry_sync,
    incident_status,
)
from process_apis.incident_events.services import PUSH, incident_change_apply
from process_apis.models import IncidentRequest, NotificationDelivery
from system_apis.servicenow.client import incident_change
from tests.reports import STATE_CHANGED_AT, TEST_CONSUMER, servicenow_moved
from tests.vendors import SLACK_POST, SN_INCIDENTS, sf_contact, sn_record

pytestmark = pytest.mark.django_db(databases=["default", "legacy"])

REPORT = {
    "email": "ada.lovelace@example.com",
    "name": "Ada Lovelace",
    "category": "order",
    "urgency": 2,
    "short_description": "Parcel never arrived",
    "description": "Ordered on the 3rd, still nothing. <!channel>",
    "order_number": "1042",
}


def report(django_capture_on_commit_callbacks, **overrides) -> IncidentRequest:
    with django_capture_on_commit_callbacks(execute=True):
        return incident_report(**{**REPORT, **overrides}, consumer=TEST_CONSUMER)


def test_a_report_is_stored_created_in_servicenow_and_announced_once(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows(sf_contact("ada.lovelace@example.com"))
    vendors.servicenow_creates("INC0010007")
    vendors.slack_accepts()

    request = report(django_capture_on_commit_callbacks, trace_id="trace-123")

    request.refresh_from_db()
    assert re.fullmatch(r"IH-[0-9A-HJKMNP-TV-Z]{10}", request.reference)
    assert (request.sync_state, request.servicenow_number, request.servicenow_state_label) == (
        "created",
        "INC0010007",
        "New",
    )
    assert request.customer["found_in"] == ["legacy_db", "salesforce"]
    [created] = vendors.created
    assert created["correlation_id"] == request.reference
    assert (created["impact"], created["urgency"], created["category"]) == ("3", "2", "inquiry")
    assert "Reference: " + request.reference in created["description"]
    assert "Trace id: trace-123" in created["description"]
    [message] = vendors.slack_bodies()
    assert message["channel"] == "#incidents"
    assert message["blocks"][0]["text"]["text"] == "INC0010007 · P4 · Parcel never arrived"
    assert "&lt;!channel&gt;" in message["text"] and "<!channel>" not in message["text"]
    delivery = request.notifications.get()
    assert (delivery.state, delivery.work.attempts, delivery.slack_ts) == ("sent", 1, "1700000000.000100")
    # The customer's confirmation goes first: it was queued with the report, the notice with its incident.
    assert [e.kind for e in request.events.all()] == [
        "accepted",
        "servicenow_created",
        "email_sent",
        "notification_sent",
    ]


def test_the_notification_is_enqueued_only_after_the_commit(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request = incident_report(**REPORT, consumer=TEST_CONSUMER)

    assert vendors.slack_bodies() == []
    assert request.notifications.get().state == "pending"
    assert request.mails.get().state == "pending"
    assert len(callbacks) == 2  # the customer's confirmation and the team's notice


def test_servicenow_down_leaves_the_report_accepted_and_schedules_a_retry(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)

    request = report(django_capture_on_commit_callbacks)

    request.refresh_from_db()
    assert (request.sync_state, request.sync_work.attempts) == ("pending", 1)
    assert "Could not create the ServiceNow incident" in request.sync_work.last_error
    assert request.sync_work.next_attempt_at > timezone.now()
    assert request.sync_work.claimed_at is None
    assert request.servicenow_number == ""
    assert not NotificationDelivery.objects.exists()
    assert vendors.calls_to(SLACK_POST) == []
    summary = incident_summary(request)
    assert summary.accepted and summary.servicenow_number is None
    assert summary.status == "Accepted; the ServiceNow incident follows"


def test_a_retry_that_is_not_due_yet_does_nothing(vendors, legacy_customers, django_capture_on_commit_callbacks):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)
    request = report(django_capture_on_commit_callbacks)

    work_run(work_id=request.sync_work_id)

    assert len(vendors.calls_to(SN_INCIDENTS)) == 1
    assert request.sync_work.attempts == 1


def test_servicenow_refusing_our_credentials_fails_at_once_for_staff_to_see(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(401)

    request = report(django_capture_on_commit_callbacks)

    request.refresh_from_db()
    assert (request.sync_state, request.sync_work.attempts, request.sync_work.next_attempt_at) == ("failed", 1, None)


def test_the_last_attempt_gives_up(vendors, legacy_customers, django_capture_on_commit_callbacks, settings):
    settings.SERVICENOW_MAX_ATTEMPTS = 2
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)
    request = report(django_capture_on_commit_callbacks)
    vendors.mock.add("GET", SN_INCIDENTS, json={"result": []})
    Work.objects.filter(pk=request.sync_work_id).update(next_attempt_at=timezone.now())

    work_run(work_id=request.sync_work_id)

    request.refresh_from_db()
    assert (request.sync_state, request.sync_work.attempts) == ("failed", 2)
    assert list(request.sync_work.history.values_list("outcome", flat=True)) == ["retrying", "failed"]
    assert request.events.get(kind="servicenow_failed").detail["attempt"] == 2


def test_a_retry_adopts_the_incident_an_earlier_attempt_made_instead_of_creating_another(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(504)
    request = report(django_capture_on_commit_callbacks)
    vendors.mock.add("GET", SN_INCIDENTS, json={"result": [sn_record("INC0010042", correlation_id=request.reference)]})
    vendors.slack_accepts()
    Work.objects.filter(pk=request.sync_work_id).update(next_attempt_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        work_run(work_id=request.sync_work_id)

    request.refresh_from_db()
    assert (request.sync_state, request.servicenow_number, request.sync_work.attempts) == ("created", "INC0010042", 2)
    creates = [c for c in vendors.calls_to(SN_INCIDENTS) if c.request.method == "POST"]
    assert len(creates) == 1, "the retry must not create a second incident"
    assert "sysparm_query=correlation_id%3D" + request.reference in vendors.calls_to(SN_INCIDENTS)[-1].request.url
    assert [e.kind for e in request.events.all()][-2:] == ["servicenow_adopted", "notification_sent"]


def test_staffs_fresh_round_after_a_failed_one_still_looks_for_an_incident_an_earlier_round_made(
    vendors, legacy_customers, django_capture_on_commit_callbacks, settings
):
    settings.SERVICENOW_MAX_ATTEMPTS = 1
    vendors.salesforce_knows()
    vendors.servicenow_fails(504)
    request = report(django_capture_on_commit_callbacks)
    assert (request.sync_state, request.servicenow_create_sent) == ("failed", True)
    vendors.mock.add("GET", SN_INCIDENTS, json={"result": [sn_record("INC0010043", correlation_id=request.reference)]})
    vendors.slack_accepts()

    with django_capture_on_commit_callbacks(execute=True):
        incident_retry_sync(request=request)

    assert (request.sync_state, request.servicenow_number, request.sync_work.attempts) == ("created", "INC0010043", 1)
    assert [c.request.method for c in vendors.calls_to(SN_INCIDENTS)] == ["POST", "GET"]


def test_a_live_claim_elsewhere_keeps_a_second_attempt_out(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)
    request = report(django_capture_on_commit_callbacks)
    Work.objects.filter(pk=request.sync_work_id).update(
        next_attempt_at=timezone.now(), state="running", claimed_at=timezone.now()
    )

    work_run(work_id=request.sync_work_id)

    assert len(vendors.calls_to(SN_INCIDENTS)) == 1


def test_salesforce_down_still_creates_the_incident_with_a_degraded_customer(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_down()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    request = report(django_capture_on_commit_callbacks)

    assert request.customer_degraded
    assert request.sync_state == "created"
    fields = vendors.slack_bodies()[0]["blocks"][1]["fields"]
    assert any("legacy DB (Salesforce unavailable)" in f["text"] for f in fields)


def test_slack_refusing_for_good_fails_the_delivery_after_one_attempt_without_touching_the_report(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_refuses("channel_not_found")

    request = report(django_capture_on_commit_callbacks)

    delivery = request.notifications.get()
    assert (delivery.state, delivery.work.attempts) == ("failed", 1)
    assert "channel_not_found" in delivery.work.last_error
    assert request.sync_state == "created"
    assert len(vendors.calls_to(SLACK_POST)) == 1


def test_slack_failing_for_a_while_is_retried_and_posts_exactly_once(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_unavailable()
    vendors.slack_unavailable()
    vendors.slack_accepts()

    request = report(django_capture_on_commit_callbacks)

    delivery = request.notifications.get()
    assert (delivery.state, delivery.work.attempts) == ("sent", 3)
    assert [a.outcome for a in delivery.work.history.all()] == ["retrying", "retrying", "done"]
    assert len(vendors.calls_to(SLACK_POST)) == 3


def test_a_report_that_cannot_be_stored_is_not_accepted_and_nothing_is_sent(vendors, legacy_customers):
    vendors.salesforce_knows()

    with mock.patch("process_apis.customer_incidents.services.work_create_for", side_effect=DatabaseError("disk full")):
        with pytest.raises(NotAcceptedError):
            incident_report(**REPORT, consumer=TEST_CONSUMER)

    assert vendors.calls_to(SN_INCIDENTS) == []
    assert not IncidentRequest.objects.exists()


def test_status_needs_the_reporting_email_and_answers_the_state_servicenow_last_told(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    request = report(django_capture_on_commit_callbacks)
    servicenow_moved(request, 2)
    calls = len(vendors.calls_to(SN_INCIDENTS))

    with pytest.raises(NotFoundError):
        incident_status(reference=request.reference, email="someone.else@example.com")
    seen = incident_status(reference=request.reference, email="ADA.LOVELACE@example.com")

    assert (seen.servicenow_state_label, incident_summary(seen).state_as_of) == ("In Progress", STATE_CHANGED_AT)
    assert len(vendors.calls_to(SN_INCIDENTS)) == calls, "a read never calls ServiceNow"


def test_refresh_without_a_change_records_no_event(vendors, legacy_customers, django_capture_on_commit_callbacks):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    request = report(django_capture_on_commit_callbacks)
    vendors.mock.add("GET", f"{SN_INCIDENTS}/{'a' * 32}", json={"result": sn_record()})

    incident_refresh_state(request=request)

    assert not request.events.filter(kind="servicenow_changed").exists()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("IH-ABCDEFGHJK", "IH-ABCDEFGHJK"),
        ("ih-abcdefghjk", "IH-ABCDEFGHJK"),
        ("IH-O0IL1ABCDE", "IH-00111ABCDE"),
        ("abcdefghjk", "IH-ABCDEFGHJK"),
        ("IH-SHORT", None),
        ("IH-ABCDEFGHJU", None),
    ],
)
def test_references_are_read_the_crockford_way(typed, expected):
    assert normalize_reference(typed) == expected


def test_looking_at_a_report_not_yet_in_servicenow_never_creates_it(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_fails(503)
    request = report(django_capture_on_commit_callbacks)
    Work.objects.filter(pk=request.sync_work_id).update(next_attempt_at=timezone.now())

    seen = incident_status(reference=request.reference, email=request.email)

    assert seen.sync_state == "pending"
    assert len(vendors.calls_to(SN_INCIDENTS)) == 1, "a status lookup is a read, not a retry"


def test_a_broken_customer_source_degrades_instead_of_losing_the_report(
    vendors, legacy_customers, django_capture_on_commit_callbacks, monkeypatch
):
    from system_apis.legacy_db.client import LegacyCustomerDatabase

    monkeypatch.setattr(LegacyCustomerDatabase, "find_by_email", lambda self, email: 1 / 0)
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()

    request = report(django_capture_on_commit_callbacks)

    assert request.customer["unavailable"] == ["legacy_db"]
    assert request.sync_state == "created"


def test_a_report_already_stored_under_an_intake_key_is_returned_not_made_again(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    first = report(django_capture_on_commit_callbacks, intake_key="client-a:key-1")

    again = report(django_capture_on_commit_callbacks, intake_key="client-a:key-1")
    other = report(django_capture_on_commit_callbacks, intake_key="client-a:key-2")

    assert again.pk == first.pk and other.pk != first.pk
    assert len([c for c in vendors.calls_to(SN_INCIDENTS) if c.request.method == "POST"]) == 2


def test_the_incident_is_recorded_as_created_with_its_time_so_its_own_insert_event_changes_nothing(
    vendors, legacy_customers, django_capture_on_commit_callbacks
):
    vendors.salesforce_knows()
    vendors.servicenow_creates()
    vendors.slack_accepts()
    request = report(django_capture_on_commit_callbacks)
    request.refresh_from_db()

    inserted = incident_change(sn_record(correlation_id=request.reference))

    assert (request.servicenow_mod_count, request.servicenow_updated_at) == (0, datetime(2026, 11, 22, 10, tzinfo=UTC))
    assert incident_summary(request).state_as_of == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert incident_change_apply(change=inserted, path=PUSH) is False
    assert not request.events.filter(kind="servicenow_changed").exists()
