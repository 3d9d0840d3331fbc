"""One error shape for every REST API: `{"message": ..., "extra": {...}}`, never an HTML page; and what any view
answers when the database cannot be reached."""

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kernel.errors import ServiceError

logger = logging.getLogger("incidents_site.api")
# Seconds: about a database pool's wait for a connection, so a burst's retries do not come back all at once.
DATABASE_RETRY_AFTER = 10


def service_error_response(exc: ServiceError) -> Response:
    response = Response(exc.response_body(), status=exc.http_status)
    if exc.retry_after is not None:
        response["Retry-After"] = str(int(exc.retry_after + 0.999))
    return response


def suspicious_request_response(exc: SuspiciousOperation) -> Response:
    """A request Django refuses to read (too many fields, too large a body): the caller's doing, not a bug."""
    logging.getLogger(f"django.security.{type(exc).__name__}").warning("refused: %s", exc)
    code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE if isinstance(exc, RequestDataTooBig) else 400
    return Response({"message": f"The request was refused: {exc}", "extra": {"code": "refused"}}, status=code)


DATABASE_UNAVAILABLE = {
    "message": "Incident Hub cannot reach its database right now; please try again shortly.",
    "extra": {"code": "database_unavailable"},
}


def database_unavailable(exc: Exception) -> bool:
    """The database could not be reached or gave no connection in time (an outage; a burst past the pool): a
    condition to retry after, not a bug. A report retried with its Idempotency-Key, or a form sent again, is
    answered from what was stored, if it was."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_unavailable_logged(exc: Exception, where: str) -> None:
    logger.error("database unavailable in %s: %s", where, exc)


def database_unavailable_response(exc: Exception, view: str) -> Response:
    database_unavailable_logged(exc, view)
    return Response(DATABASE_UNAVAILABLE, status=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


def answers_in_json(request: HttpRequest) -> bool:
    """Whether an error on this path is answered as JSON (the APIs under /api/), not as an HTML page."""
    return request.path.startswith("/api/")


def database_unavailable_page(request: HttpRequest, exc: Exception) -> HttpResponse:
    """What a page other than a REST API's answers then: JSON under /api/, an HTML page elsewhere."""
    database_unavailable_logged(exc, request.resolver_match.view_name if request.resolver_match else request.path)
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER)}
    if answers_in_json(request):
        return JsonResponse(DATABASE_UNAVAILABLE, status=503, headers=headers)
    # Rendered without the request's context: the user menu and the messages would read the database again.
    page = render_to_string("experience/database_unavailable.html", {"retry_after": DATABASE_RETRY_AFTER})
    return HttpResponse(page, status=503, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ServiceError):
        return service_error_response(exc)
    if isinstance(exc, SuspiciousOperation):
        return suspicious_request_response(exc)
    if database_unavailable(exc):
        return database_unavailable_response(exc, type(context.get("view")).__name__)
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
