"""Log events as JSON, one a line, each with the flow's correlation id and OpenTelemetry trace id."""

import logging

from opentelemetry import trace

from system_apis.tracing import current_correlation_id


class FlowContextFilter(logging.Filter):
    """Stamps every record with the flow it belongs to, whichever library logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs after the request's own context has ended, but hands over the request.
        record.correlation_id = current_correlation_id() or getattr(getattr(record, "request", None), "trace_id", "")
        span = trace.get_current_span().get_span_context()
        record.trace_id = f"{span.trace_id:032x}" if span.is_valid else ""
        return True
