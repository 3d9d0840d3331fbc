"""Log events as JSON, one a line, each with the flow's correlation id and OpenTelemetry trace id.

Django names requests by their path and query in its own events ("Not Found: /reports/IH-...", the
development server's request line), and hands the request object over to be printed: a query can carry
an email or a token. Here every request is named by its method and route pattern instead.
"""

import logging
import re

from django.http import HttpRequest
from opentelemetry import trace

from kernel.tracing import current_correlation_id

_REQUEST_LINE_QUERY = re.compile(r"^(\S+ [^?\s]*)\?\S*")


def request_route(request: HttpRequest) -> str:
    """The request's URL pattern, or its path when none matched: never its query."""
    route = getattr(request.resolver_match, "route", None)
    return f"/{route}" if route is not None else request.path


class FlowContextFilter(logging.Filter):
    """Stamps every record with the flow it belongs to, whichever library logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        # django.request logs after the request's own context has ended, but hands over the request.
        # Each handler runs this filter on the same record: after the first, the request is a label.
        record.correlation_id = (
            current_correlation_id() or getattr(request, "trace_id", "") or getattr(record, "correlation_id", "")
        )
        span = trace.get_current_span().get_span_context()
        record.trace_id = f"{span.trace_id:032x}" if span.is_valid else ""
        if isinstance(request, HttpRequest):
            record.request = f"{request.method} {request_route(request)}"
            if isinstance(record.args, tuple):
                named = (request.path, request.get_full_path())
                record.args = tuple(request_route(request) if arg in named else arg for arg in record.args)
        elif record.name == "django.server":
            # The development server hands over its socket and the raw request line.
            record.request = ""
            if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
                record.args = (_REQUEST_LINE_QUERY.sub(r"\1", record.args[0]), *record.args[1:])
        return True
