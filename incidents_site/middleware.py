"""The trace of one request: its correlation id, its server span, and one access log event; and the answer of a
view that finds the database unreachable.

The correlation id is the caller's X-Correlation-ID (or the trace id of its W3C traceparent) when sent,
a new one otherwise; it is returned in the response and carried, as OpenTelemetry baggage, into every
span, log event and Celery task of the flow.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from experience_apis import catalog as experience_catalog
from kernel import tracing

from .api_errors import database_unavailable, database_unavailable_page
from .log_format import request_route

HEADER = "X-Correlation-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
# Only the caller's trace context is taken: baggage from outside is not ours to carry.
_caller_trace_context = TraceContextTextMapPropagator()
access_log = logging.getLogger("incidents_site.access")


def trace_id_for(request: HttpRequest) -> str:
    sent = request.headers.get(HEADER, "").strip()
    if _SAFE_ID.match(sent):
        return sent
    traceparent = _TRACEPARENT.match(request.headers.get("traceparent", "").strip().lower())
    if traceparent and traceparent.group(1) != "0" * 32:
        return traceparent.group(1)
    return uuid.uuid4().hex


def experience_api_of(request: HttpRequest) -> str:
    """Which Experience API served the request ("" for the admin, docs, static files...)."""
    match = request.resolver_match
    if match is None:
        return ""
    return next((api.name for api in experience_catalog.APIS if api.serves(request.path, match.app_name)), "")


class TraceIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.trace_id = trace_id_for(request)
        started = time.monotonic()
        with (
            tracing.tracer.start_as_current_span(
                f"{request.method} {request.path}",
                context=_caller_trace_context.extract(request.headers),
                kind=SpanKind.SERVER,
            ) as span,
            tracing.correlation(request.trace_id),
        ):
            response = self.get_response(request)
            api = experience_api_of(request)
            operation = f"{request.method} {getattr(request.resolver_match, 'url_name', '') or 'unknown'}"
            if api:
                span.set_attributes({tracing.LAYER: "experience", tracing.API: api, tracing.OPERATION: operation})
                # An answer below 500 is the API doing its job, whatever the caller sent.
                tracing.annotate(outcome=response.status_code)
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            # The route, not the path or query: no email, reference lookup or token ends up in the log.
            route = request_route(request)
            access_log.info(
                "%s %s -> %s in %.0f ms",
                request.method,
                route,
                response.status_code,
                duration_ms,
                extra={
                    "layer": "experience" if api else "",
                    "api": api,
                    "operation": operation,
                    "http_method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": duration_ms,
                },
            )
        response[HEADER] = request.trace_id
        return response


class DatabaseUnavailableMiddleware:
    """A view (not a REST API's: those answer for themselves) that finds the database unreachable answers 503
    with Retry-After, not Django's internal error page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return database_unavailable_page(request, exception) if database_unavailable(exception) else None
