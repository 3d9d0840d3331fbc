"""HTTPS servers on 127.0.0.1 for benchmarks and tests, each with a self-signed certificate (its own trust anchor)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(directory: Path, host: str, name: str | None = None) -> tuple[Path, Path]:
    """A certificate for `host` (a DNS name or an IP address) that signs itself, and its key: (cert.pem, key.pem).

    Its subject is `name` (`host` by default): certificates in one CA bundle need subjects of their own, or
    OpenSSL may check one against another's key.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name or host)])
    try:
        alternative: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        alternative = x509.DNSName(host)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([alternative]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@contextmanager
def https_server(
    handler: type[BaseHTTPRequestHandler],
    cert_path: Path,
    key_path: Path,
    *,
    on_sni: Callable[[str | None], None] | None = None,
) -> Iterator[int]:
    """`handler` served over TLS with the certificate on 127.0.0.1 (`on_sni` is told the name each client asks
    for); yields the port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    if on_sni:
        context.sni_callback = lambda sock, server_name, ctx: on_sni(server_name)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def ok_handler() -> type[BaseHTTPRequestHandler]:
    """A handler that answers every GET 200 "ok" on keep-alive connections (as vendors' servers keep them) and
    notes each connection's client address in its own `clients` set."""

    class Ok(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        clients: set[tuple[str, int]] = set()

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.clients.add(self.client_address)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    return Ok
