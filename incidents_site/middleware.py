"""The trace id of one flow: the caller's X-Correlation-ID (or W3C traceparent) when sent, new otherwise."""

import re
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "X-Correlation-ID"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id_for(request: HttpRequest) -> str:
    sent = request.headers.get(HEADER, "").strip()
    if _SAFE_ID.match(sent):
        return sent
    traceparent = _TRACEPARENT.match(request.headers.get("traceparent", "").strip().lower())
    if traceparent and traceparent.group(1) != "0" * 32:
        return traceparent.group(1)
    return uuid.uuid4().hex


class TraceIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.trace_id = trace_id_for(request)
        response = self.get_response(request)
        response[HEADER] = request.trace_id
        return response
