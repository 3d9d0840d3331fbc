"""Client webhooks: a client hears of its own reports only, once per endpoint and piece of news, signed."""

import socket

import pytest
import responses
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from standardwebhooks import Webhook

from kernel.models import Work
from kernel.work import work_run
from process_apis.incident_events.news import IncidentNews, NewsKind, incident_news_publish
from process_apis.incident_events.services import PUSH, incident_change_apply
from process_apis.models import IncidentEvent
from process_apis.webhooks.models import WebhookDelivery, WebhookEndpoint
from process_apis.webhooks.services import (
    InvalidWebhookError,
    webhook_delivery_retry,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_list,
)
from system_apis.servicenow.client import incident_change
from tests.reports import stored_report

pytestmark = pytest.mark.django_db

SYS_ID = "5c8f2a1e1b3d4e6f8a9b0c1d2e3f4a5b"
HOOK = "https://hooks.partner.example/incident-hub"
OTHER_HOOK = "https://hooks.other.example/in"


def resolves_publicly(host, port, *args, **kwargs):
    """socket.getaddrinfo as if every name had one public address."""
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", resolves_publicly)


def created_news(report) -> None:
    with transaction.atomic():
        event = IncidentEvent.objects.create(request=report, kind="servicenow_created")
        incident_news_publish(IncidentNews(kind=NewsKind.CREATED, request=report, event=event))


def change(reference: str, mod_count: int, state: str, **fields: str):
    return incident_change(
        {
            "sys_id": SYS_ID,
            "number": "INC0010042",
            "state": state,
            "sys_mod_count": str(mod_count),
            "sys_updated_on": "2026-12-01 10:00:05",
            "correlation_id": reference,
            **fields,
        }
    )


def created_report(client_id: str = "client-a"):
    return stored_report(
        consumer="incidents_v1",
        api_client_id=client_id,
        sync_state="created",
        servicenow_sys_id=SYS_ID,
        servicenow_number="INC0010042",
        servicenow_state=1,
        servicenow_state_label="New",
        servicenow_priority=4,
    )


def test_a_client_hears_of_its_own_reports_only():
    mine = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    webhook_endpoint_create(api_client_id="client-b", url=OTHER_HOOK)
    report = created_report("client-a")

    created_news(report)

    delivery = WebhookDelivery.objects.get()
    assert delivery.endpoint == mine
    assert delivery.event_type == "incident.created"
    assert delivery.message_id.startswith("msg_")
    assert delivery.state == "pending"
    assert delivery.payload["type"] == "incident.created"
    assert delivery.payload["data"] == {
        "reference": report.reference,
        "status": "New",
        "servicenow_number": "INC0010042",
        "servicenow_state": "New",
        "state_as_of": None,
        "resolution_code": None,
        "resolution_notes": None,
        "priority": 4,
        "category": "order",
        "urgency": 2,
        "short_description": "Parcel never arrived",
        "created_at": report.created_at.isoformat().replace("+00:00", "Z"),
        "customer": {"display_name": "ada.lovelace@example.com", "email": "ada.lovelace@example.com", "is_new": True},
    }
    assert Work.objects.get(pk=delivery.work_id).kind == "webhook"


def test_a_web_report_tells_no_client_and_looks_for_none():
    webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    report = stored_report()

    with CaptureQueriesContext(connection) as queries:
        created_news(report)

    assert not WebhookDelivery.objects.exists()
    assert not [q for q in queries.captured_queries if "webhook" in q["sql"]]


def test_each_endpoint_gets_its_own_message_of_the_same_news():
    first = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    second = webhook_endpoint_create(api_client_id="client-a", url=OTHER_HOOK)
    report = created_report()

    created_news(report)

    deliveries = {d.endpoint_id: d for d in WebhookDelivery.objects.all()}
    assert set(deliveries) == {first.pk, second.pk}
    assert deliveries[first.pk].message_id != deliveries[second.pk].message_id
    assert deliveries[first.pk].payload == deliveries[second.pk].payload


def test_changes_are_updates_and_resolution_is_its_own_type_and_a_repeated_push_sends_nothing_more():
    everything = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    resolved_only = webhook_endpoint_create(api_client_id="client-a", url=OTHER_HOOK, event_types=["incident.resolved"])
    report = created_report()

    incident_change_apply(change=change(report.reference, 2, "2"), path=PUSH)
    incident_change_apply(change=change(report.reference, 2, "2"), path=PUSH)
    incident_change_apply(
        change=change(report.reference, 3, "6", close_code="Solved (Permanently)", close_notes="Parcel found."),
        path=PUSH,
    )

    sent = sorted((d.endpoint_id, d.event_type) for d in WebhookDelivery.objects.all())
    assert sent == [
        (everything.pk, "incident.resolved"),
        (everything.pk, "incident.updated"),
        (resolved_only.pk, "incident.resolved"),
    ]
    resolved = WebhookDelivery.objects.filter(event_type="incident.resolved").first().payload["data"]
    assert resolved["status"] == "Resolved"
    assert resolved["resolution_code"] == "Solved (Permanently)"
    assert resolved["resolution_notes"] == "Parcel found."
    assert resolved["changes"]["state"] == {"from": "In Progress", "to": "Resolved"}
    updated = WebhookDelivery.objects.get(event_type="incident.updated").payload["data"]
    assert updated["changes"]["state"] == {"from": "New", "to": "In Progress"}
    assert (updated["status"], updated["resolution_code"]) == ("In Progress", None), "the report as that change left it"


def test_a_deactivated_or_deleted_endpoint_hears_nothing():
    inactive = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    WebhookEndpoint.objects.filter(pk=inactive.pk).update(active=False)
    deleted = webhook_endpoint_create(api_client_id="client-a", url=OTHER_HOOK)
    webhook_endpoint_delete(api_client_id="client-a", endpoint_id=deleted.pk)

    created_news(created_report())

    assert not WebhookDelivery.objects.exists()
    assert list(webhook_endpoint_list(api_client_id="client-a")) == [inactive]


# --- sending --------------------------------------------------------------------------------------


@responses.activate
def test_a_delivery_is_sent_signed_and_recorded():
    endpoint = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    responses.post(HOOK, status=202, body="thanks")

    work_run(work_id=delivery.work_id)

    delivery.refresh_from_db()
    assert delivery.state == "sent"
    assert (delivery.response_status, delivery.response_excerpt) == (202, "thanks")
    assert delivery.delivered_at is not None
    sent = responses.calls[0].request
    assert sent.headers["webhook-id"] == delivery.message_id
    assert Webhook(endpoint.secret).verify(sent.body, dict(sent.headers)) == delivery.payload
    assert IncidentEvent.objects.filter(kind="webhook_delivered").count() == 1


@responses.activate
def test_a_failing_receiver_is_retried_with_the_same_message_id(settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    responses.post(HOOK, status=500, body="oops")

    work_run(work_id=delivery.work_id)

    work = Work.objects.get(pk=delivery.work_id)
    assert work.state == "retrying"
    assert "the receiver answered 500" in work.last_error
    delivery.refresh_from_db()
    assert (delivery.response_status, delivery.response_excerpt, delivery.delivered_at) == (500, "oops", None)


@responses.activate
def test_410_gone_deactivates_the_endpoint_and_is_not_retried():
    endpoint = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    responses.post(HOOK, status=410)

    work_run(work_id=delivery.work_id)

    assert Work.objects.get(pk=delivery.work_id).state == "failed"
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "410 Gone" in endpoint.disabled_reason
    assert IncidentEvent.objects.filter(kind="webhook_failed").count() == 1


@responses.activate
def test_an_address_refused_at_delivery_time_fails_without_a_call(monkeypatch):
    webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))],
    )
    responses.post(HOOK, status=200)

    work_run(work_id=delivery.work_id)

    work = Work.objects.get(pk=delivery.work_id)
    assert work.state == "failed"
    assert work.attempts == 1
    assert "resolves to 10.0.0.7, a private address" in work.last_error
    assert len(responses.calls) == 0


@responses.activate
def test_a_queued_delivery_to_a_deleted_endpoint_is_not_sent():
    endpoint = webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    webhook_endpoint_delete(api_client_id="client-a", endpoint_id=endpoint.pk)

    work_run(work_id=delivery.work_id)

    assert Work.objects.get(pk=delivery.work_id).state == "failed"
    assert len(responses.calls) == 0


@responses.activate
def test_staff_retry_a_failed_delivery_only(settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    responses.post(HOOK, status=503)
    work_run(work_id=delivery.work_id)
    assert Work.objects.get(pk=delivery.work_id).state == "failed"

    webhook_delivery_retry(delivery_id=delivery.pk)

    work = Work.objects.get(pk=delivery.work_id)
    assert (work.state, work.attempts) == ("pending", 0)
    with pytest.raises(Exception, match="Only a failed delivery"):
        webhook_delivery_retry(delivery_id=delivery.pk)


# --- registration -----------------------------------------------------------------------------------


def test_a_new_endpoint_has_a_secret_as_the_specification_says():
    endpoint = webhook_endpoint_create(api_client_id="client-a", url=HOOK)

    assert endpoint.secret.startswith("whsec_")
    assert len(endpoint.secret) == len("whsec_") + 32
    assert endpoint.event_types == ["incident.created", "incident.updated", "incident.resolved"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.partner.example/x", "The webhook URL must be an https URL."),
        ("https://127.0.0.1/x", "The webhook URL may not point at a loopback address."),
        ("https://[::1]/x", "The webhook URL may not point at a loopback address."),
        ("https://169.254.169.254/latest", "The webhook URL may not point at a link-local address."),
        ("https://localhost:8443/x", "The webhook URL may not point at a name for this machine."),
    ],
)
def test_registration_refuses_what_can_never_be_sent_to(url, message):
    with pytest.raises(InvalidWebhookError) as raised:
        webhook_endpoint_create(api_client_id="client-a", url=url)

    assert raised.value.message == message
    assert not WebhookEndpoint.objects.exists()


def test_registration_takes_http_and_private_addresses_when_the_settings_allow_them(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True

    endpoint = webhook_endpoint_create(api_client_id="client-a", url="http://127.0.0.1:9000/hook")

    assert endpoint.url == "http://127.0.0.1:9000/hook"


def test_registration_refuses_unknown_event_types():
    with pytest.raises(InvalidWebhookError, match="Unknown event types: incident.deleted."):
        webhook_endpoint_create(api_client_id="client-a", url=HOOK, event_types=["incident.deleted"])
