"""The `Idempotency-Key` request header (IETF httpapi draft "The Idempotency-Key HTTP Header Field") for REST views.

Same key and same body: the stored answer again, status and JSON as first sent, marked `Idempotent-Replayed:
true`. Same key, another body: 422. The first request with the key still running: 409 with `Retry-After`.
Keys belong to one API client and expire after `IDEMPOTENCY_KEY_TTL_HOURS`.
"""

from __future__ import annotations

from collections.abc import Callable

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from .services import (
    ClaimOutcome,
    StoredResponse,
    idempotency_claim,
    idempotency_intake_key,
    idempotency_key_parse,
    idempotency_run,
    request_fingerprint,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
IN_FLIGHT_RETRY_AFTER = 1
# Answers that ask the client to come back later are not kept: the retry must do the work.
_NOT_STORED = {status.HTTP_408_REQUEST_TIMEOUT, status.HTTP_429_TOO_MANY_REQUESTS}


def idempotent_response(
    *,
    request: Request,
    client_id: str,
    respond: Callable[[str | None], Response],
    on_error: Callable[[Exception], Response],
) -> Response:
    """`respond(intake_key)` once per (client, key); `on_error` turns what it raises into the view's error answer.

    `intake_key` (None without the header) goes with the report into the process layer, which returns the
    report already stored under it: so a key whose first request died after storing the report (its record
    left in flight, then taken over as the same record) never makes a second one.
    """
    raw_key = request.headers.get(HEADER)
    if raw_key is None:
        return respond(None)
    key = idempotency_key_parse(raw_key)
    if key is None:
        return _error(
            status.HTTP_400_BAD_REQUEST,
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters, for example a UUID.",
            "idempotency_key_invalid",
        )
    try:
        fingerprint = request_fingerprint(request.data)
    except APIException as exc:
        return on_error(exc)  # an unreadable body: nothing to recognise a retry by, so nothing is kept

    claim = idempotency_claim(scope=f"api:{client_id}", key=key, fingerprint=fingerprint)
    if claim.outcome == ClaimOutcome.MISMATCH:
        return _error(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            "This Idempotency-Key was already used with a different request body; use a new key for a new request.",
            "idempotency_key_reused",
        )
    if claim.outcome == ClaimOutcome.IN_FLIGHT:
        response = _error(
            status.HTTP_409_CONFLICT,
            "A request with this Idempotency-Key is still being processed; retry in a moment.",
            "idempotency_key_in_flight",
        )
        response["Retry-After"] = str(IN_FLIGHT_RETRY_AFTER)
        return response
    if claim.outcome == ClaimOutcome.REPLAY:
        stored = claim.stored
        response = Response(stored.body, status=stored.status)
        if stored.location:
            response["Location"] = stored.location
        response[REPLAYED_HEADER] = "true"
        return response

    def respond_or_error() -> Response:
        try:
            return respond(idempotency_intake_key(claim.record))
        except Exception as exc:
            return on_error(exc)

    def answer(response: Response) -> StoredResponse | None:
        if response.status_code >= 500 or response.status_code in _NOT_STORED:
            return None
        return StoredResponse(response.status_code, response.data, response.get("Location", ""))

    return idempotency_run(claim.record, respond_or_error, answer)


def _error(code: int, message: str, error_code: str) -> Response:
    return Response({"message": message, "extra": {"code": error_code, "header": HEADER}}, status=code)
