"""What the System APIs' REST faces share: the error shape of every API and how to document it."""

from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from rest_framework import serializers


@extend_schema_serializer(component_name="ApiError")
class ErrorSerializer(serializers.Serializer):
    message = serializers.CharField()
    extra = serializers.DictField()


def error_responses(system: str, *codes: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """OpenAPI responses for the error `codes` an endpoint of `system` can answer; `e404="..."` overrides one."""
    described = {
        400: f"The request is not valid, or {system} refused it.",
        401: "Not authenticated.",
        403: "Not allowed: staff only.",
        404: f"{system} has no such record.",
        409: "The request conflicts with the record's state.",
        429: f"{system} asks to slow down; see Retry-After.",
        502: f"{system} refused Incident Hub's credentials.",
        503: f"{system} is unreachable, failing, or answered something unreadable.",
        504: f"{system} did not answer in time.",
    }
    described.update({int(code[1:]): text for code, text in descriptions.items()})
    return {code: OpenApiResponse(ErrorSerializer, description=described[code]) for code in codes}
