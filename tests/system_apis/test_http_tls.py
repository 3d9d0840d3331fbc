"""The connectors' HTTPS connections over real TLS: one TLS context per CA bundle and process, and still verified."""

import ssl
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench.tls import https_server, ok_handler, self_signed
from system_apis import http as transport
from system_apis.http import PooledSession, trust_context


@dataclass
class Server:
    url: str
    cert: Path
    clients: set  # the (address, port) of each connection it took


@pytest.fixture
def servers(tmp_path, monkeypatch):
    """Two HTTPS servers, "vendor" and "stranger", each with its own self-signed certificate."""
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with ExitStack() as running:
        found = {}
        for name in ("vendor", "stranger"):
            cert, key = self_signed(tmp_path / name, "127.0.0.1", name)
            handler = ok_handler()
            port = running.enter_context(https_server(handler, cert, key))
            found[name] = Server(f"https://127.0.0.1:{port}/", cert, handler.clients)
        yield found


def _context_of(response: requests.Response) -> ssl.SSLContext:
    return response.raw._connection.sock.context


def test_every_pooled_session_s_connections_share_one_context_that_loaded_the_bundle_once(servers, monkeypatch):
    vendor = servers["vendor"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(vendor.cert))
    loads = []
    load = ssl.SSLContext.load_verify_locations

    def counted(context, *args, **kwargs):
        loads.append(args or kwargs)
        return load(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    first, second = PooledSession(), PooledSession()  # as two threads' sessions for one system

    answers = [session.get(vendor.url, stream=True, timeout=5) for session in (first, second)]
    contexts = {id(_context_of(answer)) for answer in answers}
    for answer in answers:
        assert answer.content == b"ok"
    first.close()  # its connection gone: the next call opens a new one
    again = first.get(vendor.url, stream=True, timeout=5)

    assert contexts | {id(_context_of(again))} == {id(trust_context(str(vendor.cert)))}
    assert len(vendor.clients) == 3
    assert len(loads) == 1


def test_requests_own_ca_bundle_is_shared_the_same_way(servers, monkeypatch):
    vendor = servers["vendor"]
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.setattr(transport, "DEFAULT_CA_BUNDLE_PATH", str(vendor.cert))  # as if certifi's held the vendor's CA

    answer = PooledSession().get(vendor.url, stream=True, timeout=5)

    assert _context_of(answer) is trust_context(str(vendor.cert))


def test_a_shared_context_refuses_a_certificate_outside_its_bundle(servers, monkeypatch):
    vendor, stranger = servers["vendor"], servers["stranger"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(vendor.cert))
    session = PooledSession()

    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        session.get(stranger.url, timeout=5)
    assert session.get(vendor.url, timeout=5).content == b"ok"


def test_a_call_without_verification_leaves_the_shared_context_verifying(servers, monkeypatch):
    vendor, stranger = servers["vendor"], servers["stranger"]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(vendor.cert))
    session = PooledSession()
    session.get(vendor.url, timeout=5)

    assert session.get(stranger.url, verify=False, timeout=5).content == b"ok"

    assert trust_context(str(vendor.cert)).verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        PooledSession().get(stranger.url, timeout=5)
