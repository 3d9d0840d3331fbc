"""REST v1 webhooks: a client registers, lists, reads, rotates and deletes its own webhooks, and no one else's."""

import pytest
from django.test import Client

from experience_apis.clients.services import api_client_create
from process_apis.webhooks.models import WebhookEndpoint
from process_apis.webhooks.services import webhook_endpoint_create
from tests.experience.test_rest_v1 import token_for

pytestmark = pytest.mark.django_db

HOOK = "https://hooks.partner.example/incident-hub"


def as_client(name: str) -> Client:
    api_client, secret = api_client_create(name=name)
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_for(client, api_client.client_id, secret)}"
    client.api_client = api_client
    return client


@pytest.fixture
def api():
    return as_client("partner-app")


def test_a_client_registers_a_webhook_and_gets_its_secret_once(api):
    response = api.post(
        "/api/v1/webhooks", {"url": HOOK, "event_types": ["incident.resolved"]}, content_type="application/json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body == {
        "id": endpoint.pk,
        "url": HOOK,
        "description": "",
        "event_types": ["incident.resolved"],
        "active": True,
        "disabled_reason": "",
        "created_at": endpoint.created_at.isoformat().replace("+00:00", "Z"),
        "secret": endpoint.secret,
    }
    assert body["secret"].startswith("whsec_")
    assert response["Location"] == f"/api/v1/webhooks/{endpoint.pk}"
    assert endpoint.api_client_id == api.api_client.client_id
    assert "secret" not in api.get(f"/api/v1/webhooks/{endpoint.pk}").json()
    assert "secret" not in api.get("/api/v1/webhooks").json()[0]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "http://hooks.partner.example/x"}, "url", "The URL must be an https URL."),
        ({"url": "https://127.0.0.1/x"}, "url", "The URL may not point at a loopback address."),
        ({"url": "https://10.1.2.3/x"}, "url", "The URL may not point at a private address."),
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"url": HOOK, "event_types": ["incident.deleted"]}, "event_types", None),
        ({"url": HOOK, "secret": "whsec_mine"}, "secret", "Unknown field."),
    ],
)
def test_a_webhook_that_can_never_be_sent_to_is_refused(api, body, field, message):
    response = api.post("/api/v1/webhooks", body, content_type="application/json")

    assert response.status_code == 400
    errors = response.json()["extra"]["fields"]
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert not WebhookEndpoint.objects.exists()


def test_a_client_sees_and_deletes_only_its_own_webhooks(api):
    mine = webhook_endpoint_create(api_client_id=api.api_client.client_id, url=HOOK)
    other = as_client("someone-else")
    theirs = webhook_endpoint_create(api_client_id=other.api_client.client_id, url="https://them.example/hook")

    assert [w["id"] for w in api.get("/api/v1/webhooks").json()] == [mine.pk]
    assert api.get(f"/api/v1/webhooks/{theirs.pk}").status_code == 404
    assert api.delete(f"/api/v1/webhooks/{theirs.pk}").status_code == 404
    assert api.post(f"/api/v1/webhooks/{theirs.pk}/rotate-secret").status_code == 404
    assert api.get("/api/v1/webhooks/not-a-number").status_code == 404

    assert api.delete(f"/api/v1/webhooks/{mine.pk}").status_code == 204

    assert api.get("/api/v1/webhooks").json() == []
    assert api.get(f"/api/v1/webhooks/{mine.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.active is True and theirs.deleted_at is None


def test_rotating_the_secret_answers_the_new_one(api):
    endpoint = webhook_endpoint_create(api_client_id=api.api_client.client_id, url=HOOK)

    response = api.post(f"/api/v1/webhooks/{endpoint.pk}/rotate-secret")

    assert response.status_code == 200
    new = response.json()["secret"]
    endpoint.refresh_from_db()
    assert new == endpoint.secret
    assert new.startswith("whsec_")


def test_webhooks_are_for_api_clients_only(client):
    assert client.get("/api/v1/webhooks").status_code == 401


@pytest.mark.parametrize("webhook_id", ["²", "١٢", "abc", "9" * 19])
def test_an_id_that_is_no_plain_number_is_404(api, webhook_id):
    response = api.get(f"/api/v1/webhooks/{webhook_id}")

    assert response.status_code == 404
    assert response.json()["message"] == f"You have no webhook {webhook_id}."
