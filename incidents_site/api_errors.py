"""One error shape for every REST API: `{"message": ..., "extra": {...}}`, never an HTML page."""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from process_apis.errors import ApplicationError, DownstreamError, NotAcceptedError, NotFoundError
from system_apis.errors import (
    SystemAPIError,
    SystemAuthError,
    SystemBadRequest,
    SystemNotFound,
    SystemRateLimited,
    SystemTimeout,
)

logger = logging.getLogger("incidents_site.api")

SYSTEM_ERROR_STATUS: list[tuple[type[SystemAPIError], int]] = [
    (SystemNotFound, status.HTTP_404_NOT_FOUND),
    (SystemRateLimited, status.HTTP_429_TOO_MANY_REQUESTS),
    (SystemBadRequest, status.HTTP_400_BAD_REQUEST),
    (SystemTimeout, status.HTTP_504_GATEWAY_TIMEOUT),
    # Our own credentials were refused downstream: the caller did nothing wrong.
    (SystemAuthError, status.HTTP_502_BAD_GATEWAY),
]


def system_error_response(exc: SystemAPIError) -> Response:
    code = next((code for kind, code in SYSTEM_ERROR_STATUS if isinstance(exc, kind)), 503)
    response = Response({"message": str(exc), "extra": exc.as_dict()}, status=code)
    if exc.retry_after is not None:
        response["Retry-After"] = str(int(exc.retry_after + 0.999))
    return response


def application_error_response(exc: ApplicationError) -> Response:
    if isinstance(exc, NotFoundError):
        code = status.HTTP_404_NOT_FOUND
    elif isinstance(exc, NotAcceptedError):
        code = status.HTTP_503_SERVICE_UNAVAILABLE
    elif isinstance(exc, DownstreamError):
        code = status.HTTP_503_SERVICE_UNAVAILABLE if exc.retryable else status.HTTP_502_BAD_GATEWAY
    else:
        code = status.HTTP_409_CONFLICT
    response = Response({"message": exc.message, "extra": exc.extra}, status=code)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        response["Retry-After"] = str(int(retry_after + 0.999))
    elif isinstance(exc, NotAcceptedError):
        response["Retry-After"] = "60"
    return response


def suspicious_request_response(exc: SuspiciousOperation) -> Response:
    """A request Django refuses to read (too many fields, too large a body): the caller's doing, not a bug."""
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("refused: %s", exc)
    code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if isinstance(exc, RequestDataTooBig) else 400
    return Response({"message": f"The request was refused: {exc}", "extra": {"code": "refused"}}, status=code)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, SystemAPIError):
        return system_error_response(exc)
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, SuspiciousOperation):
        return suspicious_request_response(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        # A bug, not a client error: logged with its traceback, answered as JSON even in DEBUG.
        logger.exception("unhandled error in %s", type(context.get("view")).__name__)
        return Response({"message": "Internal error; it has been logged.", "extra": {}}, status=500)
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"message": "The request is not valid.", "extra": {"fields": response.data}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        extra: dict[str, Any] = {"code": getattr(exc, "default_code", "error")}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            extra["retry_after"] = int(exc.wait)
        response.data = {"message": str(detail), "extra": extra}
    return response


@csrf_exempt
def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"message": f"No such resource: {request.path}", "extra": {}}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "Internal error; it has been logged.", "extra": {}}, status=500)
