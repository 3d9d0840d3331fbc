"""What the REST faces share: the error shape of every API and how to document it.

The Process APIs re-export these through `process_apis.rest`, so that every layer documents one `ApiError`.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_serializer
from rest_framework import serializers

UNSUPPORTED_MEDIA_TYPE = "The body has no Content-Type, or one this operation does not read."
# Codes whose answers may carry Retry-After: the system's own wait, or the time until its circuit half-opens.
RETRY_AFTER_CODES = (429, 503)


@extend_schema_serializer(component_name="ApiError")
class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = serializers.DictField()


def described_errors(
    defaults: dict[int, str], codes: tuple[int, ...], descriptions: dict[str, str]
) -> dict[int, OpenApiResponse]:
    """`ApiError` responses for `codes`, described by `defaults` unless `descriptions` (`e404="..."`) say otherwise."""
    described = {**defaults, **{int(code[1:]): text for code, text in descriptions.items()}}
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}


def error_responses(system: str, *codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the error `codes` an endpoint of `system` can answer; `e404="..."` overrides one."""
    defaults = {
        400: f"The request is not valid, or {system} refused it.",
        401: "Not authenticated: log in to the admin as staff, or send an internal API client's bearer token.",
        403: "Not allowed: staff or internal API clients only.",
        404: f"{system} has no such record.",
        409: "The request conflicts with the record's state.",
        415: UNSUPPORTED_MEDIA_TYPE,
        429: f"{system} asks to slow down; see Retry-After.",
        502: f"{system} refused Incident Hub's credentials.",
        503: f"{system} is unreachable, failing, or answered something unreadable.",
        504: f"{system} did not answer in time.",
    }
    return described_errors(defaults, codes, descriptions)


def error_headers(*codes: int, retry_after: tuple[int, ...] = RETRY_AFTER_CODES) -> list[OpenApiParameter]:
    """Headers of the error `codes`: WWW-Authenticate on a 401, Retry-After (when known) on those in `retry_after`."""
    headers = []
    if 401 in codes:
        # DRF names the first authentication class's scheme; OAuth2 comes first everywhere.
        headers.append(
            OpenApiParameter(
                "WWW-Authenticate",
                str,
                OpenApiParameter.HEADER,
                response=[401],
                required=True,
                description='How to authenticate, e.g. `Bearer realm="api"`.',
            )
        )
    waits = [code for code in codes if code in retry_after]
    if waits:
        headers.append(
            OpenApiParameter(
                "Retry-After",
                int,
                OpenApiParameter.HEADER,
                response=waits,
                description="Seconds to wait before trying again, when known.",
            )
        )
    return headers
