"""The pinned connection over real TLS: it goes to the address checked, and TLS still names and verifies the host."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from system_apis.webhooks.guard import Target, pinned_session

HOST = "hooks.partner.test"


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 with a self-signed certificate for HOST; yields (port, cert path, seen)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    seen: dict[str, str | None] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            seen["host"] = self.headers["Host"]
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, server_name, ctx: seen.__setitem__("sni", server_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], str(cert_path), seen
    server.shutdown()
    server.server_close()


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
