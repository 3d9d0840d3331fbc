"""The HTTP transport of the connectors, and how an HTTP answer is read.

A pooled `requests.Session` per system and thread (connections kept alive between calls, their TLS context
shared by the process, nothing else kept on it: credentials go with each request) and `(connect, read)`
timeouts on every call; a transport failure becomes a typed error raised `from` its cause. Each call goes
through the pipeline (`system_apis.pipeline`); a connector supplies `read_answer`, a pure function of the answer.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property, partial
from typing import Any
from urllib.parse import urlsplit

import requests
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from requests.adapters import HTTPAdapter
from requests.utils import DEFAULT_CA_BUNDLE_PATH
from urllib3.util.ssl_ import create_urllib3_context

from kernel.db import release_pooled_connections
from kernel.retry import parse_retry_after

from .errors import (
    SystemAPIError,
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from .pipeline import Answered, Reading, SystemClient, Timeout, TransportError

_outbound_trace_context = TraceContextTextMapPropagator()
_pools = threading.local()
STATUS_KINDS: dict[int, type[SystemAPIError]] = {
    429: SystemRateLimited,
    401: SystemAuthError,
    403: SystemAuthError,
    404: SystemNotFound,
}


@dataclass(frozen=True)
class HttpAnswer:
    """What a system answered, as a vendor's reader sees it."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    # Retry-After in seconds, when the system said it.
    retry_after: float | None

    @cached_property
    def body(self) -> Any:
        """The body as JSON, None when it is not JSON; parsed only for a reader that looks."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None


# A vendor's reading of its answers: a pure function.
Reader = Callable[[HttpAnswer], Reading]


def read_status(answer: HttpAnswer, message: str | None = None, code: str | None = None) -> Reading:
    """What the HTTP status means; `message` and `code` are the vendor's own words, when its body has them."""
    status = answer.status
    if status < 400:
        return Reading()
    message = message or answer.reason or f"HTTP {status}"
    kind = STATUS_KINDS.get(status) or (SystemUnavailable if status >= 500 else SystemBadRequest)
    return Reading.failed(kind, message, code=code, retry_after=answer.retry_after)


def trust_context(bundle: str, *, tls_checks_hostname: bool = True) -> ssl.SSLContext:
    """This process's TLS client context that trusts the CA bundle at `bundle` (a file, or a directory of them).

    `tls_checks_hostname=False`: for connections that name the host to expect themselves (`assert_hostname`),
    which urllib3 then checks against the certificate instead of OpenSSL.
    """
    return _trust_context(bundle, tls_checks_hostname)


@cache
def _trust_context(bundle: str, tls_checks_hostname: bool) -> ssl.SSLContext:
    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
    context.check_hostname = tls_checks_hostname
    if os.path.isdir(bundle):
        context.load_verify_locations(capath=bundle)
    else:
        context.load_verify_locations(cafile=bundle)
    return context


class SharedTrustAdapter(HTTPAdapter):
    """HTTPS connections that verify against the same CA bundle share one TLS context, loaded once per process.

    urllib3 builds a context for every new connection and parses the bundle into it: for certifi's, about 20 ms
    of CPU and 0.7 MB that stay for as long as the connection is pooled, with a session per system and thread.
    A shared context is only ever set to verify (a connection without verification, or with a client
    certificate, which urllib3 would load into the context, gets its own), so what urllib3 sets on it for each
    connection does not change it.
    """

    # An adapter whose connections set `assert_hostname` says False: urllib3 turns the check off in the context.
    tls_checks_hostname = True

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        bundle = self._shared_bundle(verify, cert)
        if bundle:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["ssl_context"] = trust_context(bundle, tls_checks_hostname=self.tls_checks_hostname)
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        super().cert_verify(conn, url, verify, cert)
        if url.lower().startswith("https") and self._shared_bundle(verify, cert):
            # The context already trusts the bundle; naming it again would have urllib3 load it once more.
            conn.ca_certs = conn.ca_cert_dir = None

    @staticmethod
    def _shared_bundle(verify: bool | str, cert: Any) -> str | None:
        if cert or not verify:
            return None
        return DEFAULT_CA_BUNDLE_PATH if verify is True else verify


class PooledSession(requests.Session):
    """A session that reads what the environment says of a URL's origin (proxies, `no_proxy`, a CA bundle) once,
    and whose HTTPS connections share the process's TLS context for their CA bundle (`SharedTrustAdapter`).

    requests reads the environment again on every call, scanning it whole twice: a tenth of the instructions of
    a Slack post's worker run. A running process's environment does not change, and a pooled session's own
    proxies, `verify` and `cert` are never set, so the answer for an origin stays the same.
    """

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.mount("https://", SharedTrustAdapter())

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        if proxies or not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc, stream, verify, cert)
        if key not in self._environment:
            self._environment[key] = super().merge_environment_settings(url, {}, stream, verify, cert)
        settings = self._environment[key]
        return {**settings, "proxies": dict(settings["proxies"])}


def pooled_session(system: str) -> requests.Session:
    """This thread's session for `system`: its connections stay open for the next call (a requests.Session
    is not thread-safe to share). It must hold no credentials or headers: clients send theirs per request."""
    sessions: dict[str, requests.Session] = _pools.__dict__.setdefault("sessions", {})
    if system not in sessions:
        session = PooledSession()
        # Nor cookies: a vendor's session cookie must not tie one call to the credentials of another.
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        sessions[system] = session
    return sessions[system]


class HttpClient(SystemClient):
    """Base of the HTTP connectors. Subclasses set `system`, build paths on `base_url` and name their
    `read_answer`; `auth` and `headers` go with every request."""

    read_answer: Reader = staticmethod(read_status)

    def __init__(self, *, base_url: str, timeout: Timeout, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = session or pooled_session(self.system)
        self.auth: tuple[str, str] | None = None
        self.headers: dict[str, str] = {}
        self.last_reading: Reading | None = None

    def url(self, path: str) -> str:
        if urlsplit(path).scheme in ("http", "https"):  # an absolute URL, its scheme in any case
            return path
        return self.base_url + path.lstrip("/")

    def _request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        read: Reader | None = None,
        logged_path: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One call; `read` reads its answer instead of the client's `read_answer`; `logged_path` is logged instead
        of the URL's path when the path itself is a secret (a capability URL)."""
        url = self.url(path)
        send = partial(self._round_trip, method, url, read or self.read_answer, kwargs)
        # The URL's path only: query strings (SOQL with an email), headers (Authorization) and bodies
        # (customer text) stay out of logs.
        url_path = urlsplit(url).path if logged_path is None else logged_path
        return self._call(operation, send, timeout=self.timeout, http_method=method, url_path=url_path)

    def _round_trip(
        self, method: str, url: str, read: Reader, kwargs: dict[str, Any], timeout: Timeout
    ) -> Answered[requests.Response]:
        # The W3C trace context goes with every call, so a system that traces can join the trace; the
        # flow's baggage (the caller's correlation id) stays with us.
        headers = {**self.headers, **(kwargs.get("headers") or {})}
        _outbound_trace_context.inject(headers)
        release_pooled_connections()
        try:
            response = self.session.request(
                method, url, timeout=timeout, **{"auth": self.auth, **kwargs, "headers": headers}
            )
        except requests.ConnectTimeout as exc:
            message = f"no connection within {round(timeout[0], 2)} s"
            raise TransportError("connect-timeout", SystemTimeout, message, request_sent=False) from exc
        except requests.Timeout as exc:
            raise TransportError("read-timeout", SystemTimeout, f"no answer within {round(timeout[1], 2)} s") from exc
        except requests.RequestException as exc:
            message = f"cannot reach {self.system}: {type(exc).__name__}"
            raise TransportError("unreachable", SystemUnavailable, message) from exc
        # A streamed success is read by its caller as it arrives (a large CSV); an error answer here, whole.
        streamed = bool(kwargs.get("stream")) and response.status_code < 400
        reading = read(
            HttpAnswer(
                status=response.status_code,
                reason=response.reason or "",
                headers=response.headers,
                content=b"" if streamed else response.content,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        )
        self.last_reading = reading
        body = response.text if reading.error else None
        return Answered(response, response.status_code, reading, status=response.status_code, body=body)

    def _json(self, response: requests.Response, operation: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise self._protocol_error("answer is not JSON", operation, response=response) from exc

    def _protocol_error(
        self, message: str, operation: str, *, response: requests.Response | None = None
    ) -> SystemProtocolError:
        """An answer we cannot use, with its status and body when it is the whole answer's fault."""
        return SystemProtocolError(
            message,
            system=self.system,
            operation=operation,
            status=response.status_code if response is not None else None,
            body=response.text if response is not None else None,
        )
