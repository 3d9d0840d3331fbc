"""Where a webhook may go: an https URL (http only by a setting) whose host resolves to public addresses only.

Checked when the message is sent, not only when the URL is registered: a name that resolved to a public address
then may resolve to 127.0.0.1 or a cloud metadata address now. The connection then goes to exactly the address
checked (`pinned_session`), so a second resolution between check and connect cannot change it.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from system_apis.http import SharedTrustAdapter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):  # noqa: N818 - read as "the address was refused"
    """The URL may not be called: its scheme, or an address its host resolves to."""


class AddressUnresolved(Exception):  # noqa: N818
    """The host did not resolve now (DNS down or the name gone): worth trying again later."""


@dataclass(frozen=True)
class Target:
    scheme: str
    hostname: str
    port: int
    # The netloc as the URL gives it: the Host header.
    host_header: str
    address: str


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """What is wrong with `url` on its face (no DNS): None when it may be registered."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        return "must be an https URL" if not allow_http else "must be an http or https URL"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "may not carry a user name or password"
    if port == 0:
        return "has no valid port"
    return None


def address_problem(address: IPAddress) -> str | None:
    """Why `address` is not a public one a webhook may reach, or None."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 carried in IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 address it reaches.
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if embedded is not None:
            return address_problem(embedded)
        if address.is_site_local:
            return "site-local"
    for name in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{name}"):
            return name.replace("_", "-")
    if not address.is_global:
        return "not global"
    return None


def literal_problem(url: str) -> str | None:
    """For registration: a host written as an address that is not public (names are checked when sending)."""
    host = urlsplit(url).hostname or ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "a name for this machine" if host.rstrip(".").lower() in ("localhost",) else None
    problem = address_problem(address)
    return f"a {problem} address" if problem else None


def resolve_target(url: str, *, allow_http: bool, allow_private: bool) -> Target:
    """Check `url` and the addresses its host resolves to now; the one to connect to."""
    problem = url_problem(url, allow_http=allow_http)
    if problem:
        raise AddressRefused(f"the URL {problem}")
    parts = urlsplit(url)
    # As requests sends it: an international name in its ASCII (IDNA) form.
    hostname = _ascii_host(parts.hostname or "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = socket.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressUnresolved(f"{hostname} does not resolve: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in found]
    if not addresses:
        raise AddressUnresolved(f"{hostname} resolves to no address")
    if not allow_private:
        # Every address, not only the first: a name may list a public and a private one.
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise AddressRefused(f"{hostname} resolves to {address}, a {problem} address")
    return Target(
        scheme=parts.scheme,
        hostname=hostname,
        port=port,
        host_header=parts.netloc,
        address=str(addresses[0]),
    )


def _ascii_host(hostname: str) -> str:
    try:
        return hostname.encode("idna").decode("ascii") if not hostname.isascii() else hostname
    except UnicodeError as exc:
        raise AddressRefused(f"{hostname} is not a valid host name") from exc


class PinnedAdapter(SharedTrustAdapter):
    """Connects to the checked address whatever the URL's host resolves to by then; TLS still names and verifies
    the host (SNI and certificate), and the Host header is the URL's."""

    tls_checks_hostname = False  # urllib3 checks the certificate against `assert_hostname`

    def __init__(self, target: Target) -> None:
        self.target = target
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)

    def get_connection_with_tls_context(
        self, request: requests.PreparedRequest, verify: Any, proxies: Any = None, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if host_params["host"] != self.target.hostname or host_params["port"] not in (None, self.target.port):
            raise AddressRefused(f"{host_params['host']} is not the host that was checked")
        if host_params["scheme"] == "https":
            pool_kwargs = {
                **pool_kwargs,
                "server_hostname": self.target.hostname,
                "assert_hostname": self.target.hostname,
            }
        return self.poolmanager.connection_from_host(
            host=self.target.address, port=self.target.port, scheme=host_params["scheme"], pool_kwargs=pool_kwargs
        )


def pinned_session(target: Target) -> requests.Session:
    """A session for one message to `target`: no proxies or .netrc from the environment, no cookies kept."""
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(target)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
