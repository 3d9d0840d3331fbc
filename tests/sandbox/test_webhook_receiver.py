"""The sandbox's webhook receiver: a client's server that keeps what it is sent, shown on the sandbox page."""

import pytest

from sandbox.receiver.models import ReceivedWebhook

pytestmark = pytest.mark.django_db

HEADERS = {
    "webhook-id": "msg_2Rk7yXq",
    "webhook-timestamp": "1733300000",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}


@pytest.fixture(autouse=True)
def sandbox_urls(settings):
    settings.ROOT_URLCONF = "sandbox.urls"


def test_a_message_is_taken_with_204_kept_with_its_signature_headers_and_listed(client):
    body = '{"type":"incident.created","data":{"reference":"IH-7K2M9Q4TZX"}}'

    answer = client.post("/webhooks/partner-app", body, content_type="application/json", headers=HEADERS)

    assert answer.status_code == 204
    [kept] = ReceivedWebhook.objects.all()
    assert (kept.receiver, kept.body) == ("partner-app", body)
    assert kept.headers == {**HEADERS, "content-type": "application/json"}
    listed = client.get("/webhooks/_sandbox/received", {"receiver": "partner-app"}).json()["webhooks"]
    assert [(w["receiver"], w["headers"]["webhook-id"]) for w in listed] == [("partner-app", "msg_2Rk7yXq")]
    page = client.get("/").content.decode()
    assert "Webhooks received (1)" in page and "msg_2Rk7yXq" in page and "IH-7K2M9Q4TZX" in page


def test_only_a_post_is_taken_and_the_list_can_be_emptied(client):
    client.post("/webhooks/partner-app", "{}", content_type="application/json")

    assert client.get("/webhooks/partner-app").status_code == 405
    assert client.delete("/webhooks/_sandbox/received").json() == {"webhooks": []}
    assert not ReceivedWebhook.objects.exists()
