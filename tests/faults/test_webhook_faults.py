"""Client webhooks against a real receiver (an HTTP server thread of the test): a receiver that fails three times
then accepts gets the message once more per attempt and takes it once, signed; an address on this machine is
refused unless the settings allow it."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from kernel.models import Work
from process_apis.models import IncidentEvent, IncidentRequest
from process_apis.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "legacy"])


class Receiver:
    """A client's webhook receiver: answers 500 to the first `failures` messages, then 204; keeps what came."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = 500 if len(receiver.received) < receiver.failures else 204
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver(failures=3) as running:
        yield running


def test_a_receiver_failing_three_times_then_accepting_gets_the_message_once_signed(hub, receiver, settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    registered = hub.session.post(
        f"{hub.url}/api/v1/webhooks",
        json={"url": f"http://127.0.0.1:{receiver.port}/incident-hub", "event_types": ["incident.created"]},
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    secret = registered.json()["secret"]

    reported = hub.report()

    assert reported.response.status_code == 201, reported.response.text
    reference = reported.body["reference"]
    delivery = WebhookDelivery.objects.get(request__reference=reference)
    assert wait_for(lambda: Work.objects.get(pk=delivery.work_id).state == "done", timeout=30)
    work = Work.objects.get(pk=delivery.work_id)
    assert list(work.history.values_list("number", "outcome")) == [
        (1, "retrying"),
        (2, "retrying"),
        (3, "retrying"),
        (4, "done"),
    ]
    assert [status for _, _, status in receiver.received] == [500, 500, 500, 204], "taken once, after 3 failures"
    assert {headers["webhook-id"] for headers, _, _ in receiver.received} == {delivery.message_id}
    headers, body, _ = receiver.received[-1]
    message = Webhook(secret).verify(body, headers)
    assert message["type"] == "incident.created"
    assert message["data"]["reference"] == reference
    assert message["data"]["servicenow_number"] == IncidentRequest.objects.get(reference=reference).servicenow_number
    delivery.refresh_from_db()
    assert (delivery.state, delivery.response_status) == ("sent", 204)
    assert IncidentEvent.objects.filter(request__reference=reference, kind="webhook_delivered").count() == 1


def test_a_webhook_at_127_0_0_1_is_refused_unless_allowed(hub, receiver, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_HTTP = True
    refused = hub.session.post(
        f"{hub.url}/api/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}, timeout=10
    )
    assert refused.status_code == 400
    assert refused.json()["extra"]["fields"]["url"] == ["The URL may not point at a loopback address."]

    # A name that pointed elsewhere when registered and at this machine when the message goes.
    resolve = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *args, **kwargs: resolve("127.0.0.1" if host == "hooks.partner.test" else host, *args, **kwargs),
    )
    registered = hub.session.post(
        f"{hub.url}/api/v1/webhooks", json={"url": f"http://hooks.partner.test:{receiver.port}/hook"}, timeout=10
    )
    assert registered.status_code == 201, registered.text

    reported = hub.report()

    assert reported.response.status_code == 201
    delivery = WebhookDelivery.objects.get(request__reference=reported.body["reference"])
    assert wait_for(lambda: Work.objects.get(pk=delivery.work_id).state == "failed", timeout=30)
    work = Work.objects.get(pk=delivery.work_id)
    assert work.attempts == 1, "not retried"
    assert "refused: hooks.partner.test resolves to 127.0.0.1, a loopback address" in work.last_error
    assert receiver.received == []
    assert WebhookEndpoint.objects.get(pk=delivery.endpoint_id).active is True
