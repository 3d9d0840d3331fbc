"""The one HTTP client every connector builds on.

A pooled `requests.Session` per system and thread (connections kept alive between calls, nothing else
kept on it: credentials go with each request), `(connect, read)` timeouts on every call, and every transport
failure or error status turned into a typed `SystemAPIError` raised `from` its cause. Connectors
override `error_details()` to read their vendor's error body and `classify_error()` for quirks.
"""

from __future__ import annotations

import http.cookiejar
import logging
import threading
import time
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from kernel import tracing
from kernel.budget import time_left
from kernel.retry import parse_retry_after

from .circuit import SystemCircuit
from .errors import (
    SystemAPIError,
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemPaced,
    SystemProtocolError,
    SystemRateLimited,
    SystemTimeout,
    SystemUnavailable,
)
from .quota import quota_hold, quota_hold_of

_outbound_trace_context = TraceContextTextMapPropagator()
logger = logging.getLogger("system_apis.http")

Timeout = tuple[float, float]

_pools = threading.local()


def pooled_session(system: str) -> requests.Session:
    """This thread's session for `system`: its connections stay open for the next call (a requests.Session
    is not thread-safe to share). It must hold no credentials or headers: clients send theirs per request."""
    sessions: dict[str, requests.Session] = _pools.__dict__.setdefault("sessions", {})
    if system not in sessions:
        session = requests.Session()
        # Nor cookies: a vendor's session cookie must not tie one call to the credentials of another.
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        sessions[system] = session
    return sessions[system]


class HttpClient:
    """Base of the connectors. Subclasses set `system` and build paths on `base_url`; `auth` and `headers`
    go with every request."""

    system: str = "system"

    def __init__(self, *, base_url: str, timeout: Timeout, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.session = session or pooled_session(self.system)
        self.auth: tuple[str, str] | None = None
        self.headers: dict[str, str] = {}

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + path.lstrip("/")

    @cached_property
    def circuit(self) -> SystemCircuit:
        """The breaker of this system's circuit, shared with every client of it in every process."""
        return SystemCircuit(self.system)

    def _request(self, method: str, path: str, *, operation: str, **kwargs: Any) -> requests.Response:
        url = self.url(path)
        with tracing.traced("system", self.system, operation, kind=SpanKind.CLIENT, system=self.system):
            # Outside the circuit: a used-up deadline is ours, not a sign of trouble in the system.
            timeout = self._timeout_within_deadline(operation)
            self._respect_quota_hold(operation)
            return self.circuit.guard(
                lambda: self._round_trip(method, url, operation, timeout, kwargs), operation=operation
            )

    def _round_trip(
        self, method: str, url: str, operation: str, timeout: Timeout, kwargs: dict[str, Any]
    ) -> requests.Response:
        # The W3C trace context goes with every call, so a system that traces can join the trace; the
        # flow's baggage (the caller's correlation id) stays with us.
        headers = {**self.headers, **(kwargs.get("headers") or {})}
        _outbound_trace_context.inject(headers)
        request = {"auth": self.auth, **kwargs, "headers": headers}
        started = time.monotonic()
        try:
            response = self.session.request(method, url, timeout=timeout, **request)
        except requests.ConnectTimeout as exc:
            self._log(method, url, operation, "connect-timeout", started)
            raise SystemTimeout(
                f"no connection within {round(timeout[0], 2)} s",
                request_sent=False,
                system=self.system,
                operation=operation,
            ) from exc
        except requests.Timeout as exc:
            self._log(method, url, operation, "read-timeout", started)
            raise SystemTimeout(
                f"no answer within {round(timeout[1], 2)} s", system=self.system, operation=operation
            ) from exc
        except requests.RequestException as exc:
            self._log(method, url, operation, "unreachable", started)
            raise SystemUnavailable(
                f"cannot reach {self.system}: {type(exc).__name__}", system=self.system, operation=operation
            ) from exc
        self._log(method, url, operation, response.status_code, started)
        error = self.classify_error(response, operation)
        if isinstance(error, SystemRateLimited):
            quota_hold(self.system, seconds=error.retry_after or settings.QUOTA_HOLD_SECONDS, reason=str(error))
        if error is not None:
            raise error
        return response

    def _respect_quota_hold(self, operation: str) -> None:
        hold = quota_hold_of(self.system)
        if hold is None:
            return
        wait = hold.seconds_left()
        tracing.log_call(
            logger, system=self.system, operation=operation, outcome="quota-hold", started=time.monotonic()
        )
        # Not sent at all: held back by us, as pacing holds a post back, not an attempt the system refused.
        raise SystemPaced(
            f"not called: {self.system} is on hold for {wait:.0f} s more ({hold.reason})",
            system=self.system,
            operation=operation,
            retry_after=wait,
        )

    def _timeout_within_deadline(self, operation: str) -> Timeout:
        left = time_left()
        if left is None:
            return self.timeout
        if left < 0.05:
            raise SystemTimeout(
                "the time allowed for this request's downstream calls is used up",
                request_sent=False,
                system=self.system,
                operation=operation,
            )
        return (min(self.timeout[0], left), min(self.timeout[1], left))

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

    def error_details(self, response: requests.Response) -> tuple[str, str | None]:
        """The vendor's (message, error code) from an error answer; overridden per vendor."""
        return (response.reason or f"HTTP {response.status_code}", None)

    def classify_error(self, response: requests.Response, operation: str) -> SystemAPIError | None:
        """The typed error an answer means, or None when it is a success."""
        status = response.status_code
        if status < 400:
            return None
        message, code = self.error_details(response)
        common = {
            "system": self.system,
            "operation": operation,
            "status": status,
            "vendor_code": code,
            "body": response.text,
        }
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429:
            return SystemRateLimited(message, retry_after=retry_after, **common)
        if status in (401, 403):
            return SystemAuthError(message, **common)
        if status == 404:
            return SystemNotFound(message, **common)
        if status >= 500:
            return SystemUnavailable(message, retry_after=retry_after, **common)
        return SystemBadRequest(message, **common)

    def _log(self, method: str, url: str, operation: str, outcome: str | int, started: float) -> None:
        # The URL's path only: query strings (SOQL with an email), headers (Authorization) and bodies
        # (customer text) stay out of logs.
        tracing.log_call(
            logger,
            system=self.system,
            operation=operation,
            outcome=outcome,
            started=started,
            http_method=method,
            url_path=urlsplit(url).path,
        )
