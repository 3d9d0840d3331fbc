"""Staff's webhook pages: register an endpoint for a client (its secret shown once), follow and retry deliveries."""

import socket

import pytest
import responses
from django.contrib.messages import get_messages
from django.urls import reverse
from pytest_django.asserts import assertContains

from kernel.models import Work
from kernel.work import work_run
from process_apis.webhooks.models import WebhookDelivery, WebhookEndpoint
from process_apis.webhooks.services import webhook_endpoint_create
from tests.process_apis.test_webhooks import HOOK, created_news, created_report

pytestmark = pytest.mark.django_db

ENDPOINTS = reverse("admin:process_apis_webhookendpoint_changelist")
DELIVERIES = reverse("admin:process_apis_webhookdelivery_changelist")


@pytest.fixture(autouse=True)
def public_dns(monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))],
    )


def test_staff_register_an_endpoint_for_a_client_and_see_its_secret_once(admin_client):
    response = admin_client.post(
        reverse("admin:process_apis_webhookendpoint_add"),
        {
            "api_client_id": "client-a",
            "url": HOOK,
            "description": "",
            "event_types": ["incident.resolved"],
            "active": "on",
        },
        follow=True,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.api_client_id, endpoint.url, endpoint.event_types) == ("client-a", HOOK, ["incident.resolved"])
    assert [str(m) for m in get_messages(response.wsgi_request) if endpoint.secret in str(m)]
    page = admin_client.get(reverse("admin:process_apis_webhookendpoint_change", args=[endpoint.pk]))
    assert endpoint.secret not in page.content.decode()


def test_staff_cannot_register_a_private_address(admin_client):
    response = admin_client.post(
        reverse("admin:process_apis_webhookendpoint_add"),
        {"api_client_id": "client-a", "url": "https://10.0.0.1/x", "event_types": ["incident.created"]},
    )

    assertContains(response, "The webhook URL may not point at a private address.")
    assert not WebhookEndpoint.objects.exists()


def test_staff_deactivate_endpoints(admin_client):
    endpoint = webhook_endpoint_create(api_client_id="client-a", url=HOOK)

    admin_client.post(ENDPOINTS, {"action": "deactivate", "_selected_action": [endpoint.pk]})

    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert endpoint.disabled_reason.startswith("Deactivated by ")


@responses.activate
def test_deliveries_show_their_state_attempts_and_can_be_retried_when_failed(admin_client, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    webhook_endpoint_create(api_client_id="client-a", url=HOOK)
    created_news(created_report())
    delivery = WebhookDelivery.objects.get()
    responses.post(HOOK, status=500, body="receiver broke")
    work_run(work_id=delivery.work_id)

    listing = admin_client.get(DELIVERIES)
    page = admin_client.get(reverse("admin:process_apis_webhookdelivery_change", args=[delivery.pk]))

    assertContains(listing, delivery.message_id)
    assertContains(listing, "Failed")
    assertContains(page, "the receiver answered 500")
    assertContains(page, "receiver broke")
    assertContains(page, "attempt-history")

    admin_client.post(DELIVERIES, {"action": "retry_failed", "_selected_action": [delivery.pk]})

    work = Work.objects.get(pk=delivery.work_id)
    assert (work.state, work.attempts) == ("pending", 0)
