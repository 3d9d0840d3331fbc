"""What every REST face shares: the one error shape (`ApiError`) and how to document it."""

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
