"""The pinned connection over real TLS: it goes to the address checked, and TLS still names and verifies the host."""

from http.server import BaseHTTPRequestHandler

import pytest
import requests

from bench.tls import https_server, self_signed
from system_apis.http import trust_context
from system_apis.webhooks.guard import Target, pinned_session

HOST = "hooks.partner.test"


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for HOST; yields (port, cert path, seen)."""
    cert_path, key_path = self_signed(tmp_path, HOST)
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            seen["host"] = self.headers["Host"]
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    with https_server(Handler, cert_path, key_path, on_sni=lambda name: seen.__setitem__("sni", name)) as port:
        yield port, str(cert_path), seen


def test_the_call_goes_to_the_checked_address_with_the_hosts_name_in_tls_and_host(tls_receiver):
    port, cert, seen = tls_receiver
    # HOST resolves nowhere: only the pinned address can be reached.
    target = Target("https", HOST, port, f"{HOST}:{port}", "127.0.0.1")

    answer = pinned_session(target).post(
        f"https://{HOST}:{port}/hook", data=b"{}", headers={"Host": target.host_header}, verify=cert, timeout=5
    )

    assert answer.status_code == 204
    assert seen == {"sni": HOST, "host": f"{HOST}:{port}"}


def test_a_certificate_not_for_the_host_is_refused(tls_receiver):
    port, cert, seen = tls_receiver
    target = Target("https", "other.partner.test", port, f"other.partner.test:{port}", "127.0.0.1")

    with pytest.raises(requests.exceptions.SSLError):
        pinned_session(target).post(f"https://other.partner.test:{port}/hook", data=b"{}", verify=cert, timeout=5)

    assert "host" not in seen


def test_messages_share_a_tls_context_of_their_own_and_leave_the_connectors_one_checking_host_names(
    tls_receiver, tls_client_contexts
):
    port, cert, seen = tls_receiver
    target = Target("https", HOST, port, f"{HOST}:{port}", "127.0.0.1")

    for _ in range(2):  # each message has a session of its own
        pinned_session(target).post(f"https://{HOST}:{port}/hook", data=b"{}", verify=cert, timeout=5)

    assert tls_client_contexts == [trust_context(cert, tls_checks_hostname=False)] * 2
    assert trust_context(cert).check_hostname is True
